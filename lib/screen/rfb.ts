/**
 * A parser of the client-to-server half of RFB (RFC 6143 and the TigerVNC
 * extensions noVNC uses), for the gateway between the terminal and the
 * session's display. It tells keyboard and pointer input apart from the
 * client's screen-update requests (for the idle timeout), and refuses any
 * message it does not know: a byte stream the gateway cannot frame is cut.
 */
export type ClientMessage = 'set-pixel-format' | 'set-encodings' | 'update-request' | 'key' | 'pointer' | 'cut-text' | 'continuous-updates' | 'fence' | 'set-desktop-size' | 'qemu' | 'handshake';

export class RfbProtocolError extends Error {}

const HANDSHAKE_BYTES = 12 + 1 + 1; // ProtocolVersion, chosen security type (None), ClientInit

export class RfbClientParser {
  private buf: Buffer = Buffer.alloc(0);
  private handshakeLeft = HANDSHAKE_BYTES;

  /** Feeds bytes from the client; returns the messages completed by them. */
  push(chunk: Buffer): ClientMessage[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: ClientMessage[] = [];
    if (this.handshakeLeft > 0) {
      const n = Math.min(this.handshakeLeft, this.buf.length);
      if (this.handshakeLeft === HANDSHAKE_BYTES && n >= 4 && this.buf.subarray(0, 4).toString('latin1') !== 'RFB ') throw new RfbProtocolError('not an RFB client');
      this.handshakeLeft -= n;
      this.buf = this.buf.subarray(n);
      if (this.handshakeLeft === 0) out.push('handshake');
    }
    for (;;) {
      const m = this.next();
      if (!m) break;
      out.push(m);
    }
    if (this.buf.length > 1 << 20) throw new RfbProtocolError('message too large');
    return out;
  }

  private take(len: number, what: ClientMessage): ClientMessage | undefined {
    if (this.buf.length < len) return undefined;
    this.buf = this.buf.subarray(len);
    return what;
  }

  private next(): ClientMessage | undefined {
    const b = this.buf;
    if (b.length === 0) return undefined;
    switch (b[0]) {
      case 0:
        return this.take(20, 'set-pixel-format');
      case 2:
        return b.length < 4 ? undefined : this.take(4 + 4 * b.readUInt16BE(2), 'set-encodings');
      case 3:
        return this.take(10, 'update-request');
      case 4:
        return this.take(8, 'key');
      case 5:
        return this.take(6, 'pointer');
      case 6: {
        if (b.length < 8) return undefined;
        // A negative length announces the extended clipboard format (its absolute value is the length).
        const len = Math.abs(b.readInt32BE(4));
        if (len > 1 << 20) throw new RfbProtocolError('clipboard text too large');
        return this.take(8 + len, 'cut-text');
      }
      case 150:
        return this.take(10, 'continuous-updates');
      case 248:
        return b.length < 9 ? undefined : this.take(9 + b[8], 'fence');
      case 251:
        return b.length < 8 ? undefined : this.take(8 + 16 * b[6], 'set-desktop-size');
      case 255:
        return b.length < 2 ? undefined : b[1] === 0 ? this.take(12, 'qemu') : (() => { throw new RfbProtocolError(`unknown QEMU message ${b[1]}`); })();
      default:
        throw new RfbProtocolError(`unknown client message type ${b[0]}`);
    }
  }
}

/** Messages that mean a person is at the terminal. */
export function isInput(m: ClientMessage): boolean {
  return m === 'key' || m === 'pointer' || m === 'cut-text';
}
