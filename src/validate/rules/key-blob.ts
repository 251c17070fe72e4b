/**
 * The structure of an SSH public key blob (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4,
 * OpenSSH PROTOCOL.u2f): a sequence of length-prefixed strings that must end exactly
 * where the blob ends. A pinned key cut short in a copy-paste still decodes as base64
 * and still starts with the right type, so only reading it through finds the damage.
 */

/** Byte lengths of an uncompressed EC point (0x04 || X || Y) per curve (SEC 1 §2.3.3). */
const EC_POINT: Record<string, number> = { nistp256: 65, nistp384: 97, nistp521: 133 };

/** Fields after the type string, per key type: "string" any length, a number an exact length, "mpint" a positive integer, "curve" the curve name. */
const LAYOUT: Record<string, Array<"mpint" | "curve" | "point" | "app" | number>> = {
  "ssh-ed25519": [32],
  "sk-ssh-ed25519@openssh.com": [32, "app"],
  "ssh-rsa": ["mpint", "mpint"],
  "ecdsa-sha2-nistp256": ["curve", "point"],
  "ecdsa-sha2-nistp384": ["curve", "point"],
  "ecdsa-sha2-nistp521": ["curve", "point"],
  "sk-ecdsa-sha2-nistp256@openssh.com": ["curve", "point", "app"],
};

/**
 * Why the base64 key text of a known_hosts line or a pinned key is not a whole key of
 * `keyType`, or undefined when it is. Checks canonical base64 (nothing cut off), the
 * type string inside, every field's length, and that nothing is left over.
 */
export function keyBlobProblem(keyType: string, base64: string): string | undefined {
  if (base64.length % 4 !== 0) return "the base64 text is cut short (its length is not a multiple of 4)";
  const blob = Buffer.from(base64, "base64");
  if (blob.toString("base64") !== base64) return "the base64 text is damaged";
  let at = 0;
  const readString = (): Buffer | undefined => {
    if (at + 4 > blob.length) return undefined;
    const n = blob.readUInt32BE(at);
    if (at + 4 + n > blob.length) return undefined;
    const s = blob.subarray(at + 4, at + 4 + n);
    at += 4 + n;
    return s;
  };
  const inner = readString();
  if (inner === undefined) return "the key is cut short before its type";
  if (inner.toString("latin1") !== keyType) return `the key inside is of type ${JSON.stringify(inner.toString("latin1").slice(0, 40))}, not ${keyType}`;
  const layout = LAYOUT[keyType];
  if (!layout) return undefined;
  const curve = keyType.match(/nistp\d+/)?.[0];
  for (const field of layout) {
    const value = readString();
    if (value === undefined) return "the key is cut short";
    if (typeof field === "number" && value.length !== field) return `the key holds ${value.length} bytes where ${field} are needed`;
    if (field === "mpint" && (value.length === 0 || (value[0]! & 0x80) !== 0)) return "the key holds a malformed number";
    if (field === "curve" && value.toString("latin1") !== curve) return `the key names the curve ${JSON.stringify(value.toString("latin1").slice(0, 20))}, not ${curve}`;
    if (field === "point" && (value.length !== EC_POINT[curve ?? ""] || value[0] !== 0x04)) return "the key's curve point has the wrong length";
  }
  if (at !== blob.length) return `the key has ${blob.length - at} bytes too many`;
  if (keyType === "ssh-rsa") {
    // The modulus (second mpint) of a usable RSA key has at least 1024 bits.
    const e = blob.readUInt32BE(4 + inner.length);
    const n = blob.length - (4 + inner.length + 4 + e) - 4;
    if (n < 128) return "the RSA modulus is too short to be a real key";
  }
  return undefined;
}
