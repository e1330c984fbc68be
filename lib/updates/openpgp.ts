import * as openpgp from 'openpgp';

/**
 * OpenPGP detached signatures (vendor tarballs, repository metadata) with
 * OpenPGP.js (npm `openpgp`, maintained by Proton, pure JavaScript, no
 * keyring or agent): the signature must verify with one of the pinned public
 * keys and nothing else.
 */

export type OpenPgpCheck = { ok: true; signer: string } | { ok: false; reason: string };

async function readSig(sig: Buffer): Promise<openpgp.Signature> {
  const text = sig.toString('latin1');
  return text.includes('-----BEGIN PGP SIGNATURE-----') ? openpgp.readSignature({ armoredSignature: text }) : openpgp.readSignature({ binarySignature: new Uint8Array(sig) });
}

export async function verifyOpenPgp(file: Buffer, signature: Buffer | undefined, pinnedArmored: string[]): Promise<OpenPgpCheck> {
  if (!signature) return { ok: false, reason: 'unsigned: no detached signature (.asc or .sig) next to the file' };
  const keys = await Promise.all(pinnedArmored.map((k) => openpgp.readKey({ armoredKey: k })));
  let sig: openpgp.Signature;
  try {
    sig = await readSig(signature);
  } catch (e) {
    return { ok: false, reason: `unsigned: the signature file is not an OpenPGP signature (${(e as Error).message})` };
  }
  const message = await openpgp.createMessage({ binary: new Uint8Array(file) });
  const { signatures } = await openpgp.verify({ message, signature: sig, verificationKeys: keys, format: 'binary' });
  if (!signatures.length) return { ok: false, reason: 'unsigned: the signature file holds no signature' };
  const errors: string[] = [];
  for (const s of signatures) {
    try {
      await s.verified;
      const key = keys.find((k) => k.getKeys(s.keyID).length > 0);
      const user = key ? (await key.getPrimaryUser()).user.userID?.userID ?? '' : '';
      return { ok: true, signer: `${key?.getFingerprint().toUpperCase() ?? s.keyID.toHex()}${user ? ` ${user}` : ''}` };
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  const ids = signatures.map((s) => s.keyID.toHex().toUpperCase()).join(', ');
  if (errors.some((m) => /Could not find signing key/i.test(m))) return { ok: false, reason: `signed by another key: key id ${ids} is not among the pinned keys` };
  if (errors.some((m) => /digest did not match|Signed digest|signature did not match|Invalid signature/i.test(m))) return { ok: false, reason: `tampered: the signature by ${ids} does not match the file's contents` };
  return { ok: false, reason: `signature does not verify: ${errors.join('; ')}` };
}
