#!/usr/bin/env bash
# The tests open every sanitized document in LibreOffice, check every
# sanitized PDF with qpdf and drive the pickup page in headless Chromium
# (file sanitization, crossing X2), and make a self-signed certificate with
# openssl for STARTTLS in the mail tests (crossings X3, X4), run the
# virtual browser end to end with TigerVNC + noVNC (crossing X1), and for the
# updates feed sign PE files with osslsigncode and update a real freshclam from
# the mirror, checking the result with sigtool, and run the α′ inspecting
# proxy (Squid with ssl_bump, Debian's squid-openssl) end to end. This installs them
# from the Debian repositories when they are missing and we may (root), and
# otherwise says exactly what to install. Runs before `npm test`.
set -euo pipefail
missing=()
command -v qpdf >/dev/null 2>&1 || missing+=(qpdf)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
# The virtual browser's Debian engine (crossing X1): TigerVNC's Xvnc, noVNC's client modules, xclip to read the session's clipboard.
[ -x /usr/bin/Xvnc ] || missing+=(tigervnc-standalone-server)
[ -f "${NOVNC_DIR:-/usr/share/novnc}/core/rfb.js" ] || missing+=(novnc)
command -v xclip >/dev/null 2>&1 || missing+=(xclip)
command -v osslsigncode >/dev/null 2>&1 || missing+=(osslsigncode)
command -v freshclam >/dev/null 2>&1 || missing+=(clamav-freshclam)
command -v sigtool >/dev/null 2>&1 || missing+=(clamav)
# The α′ proxy: Squid built with OpenSSL (ssl_bump) and its certificate generator; Debian's plain squid (GnuTLS) has neither.
[ -x /usr/lib/squid/security_file_certgen ] || missing+=(squid-openssl)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing test tools: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "the tests need: ${missing[*]}" >&2
echo "install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
exit 1
