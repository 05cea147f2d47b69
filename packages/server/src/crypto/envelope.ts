import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM envelope for third-party credentials and client secrets.
 * Format: `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url parts). The key id travels with each
 * ciphertext so a rotated master key can still open old records; the AAD binds a ciphertext to
 * the record that owns it, so a ciphertext copied onto another row does not decrypt.
 */
export interface MasterKey {
  id: string;
  key: Buffer;
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

/** The id of the master key a ciphertext names (its second part). */
export function keyIdOf(envelope: string): string {
  return envelope.split('.')[1] ?? '';
}

export class Keyring {
  readonly #keys = new Map<string, Buffer>();
  readonly #current: MasterKey;

  /** The first key encrypts; every key decrypts (older keys stay until re-encryption is done). */
  constructor(keys: MasterKey[]) {
    const [current] = keys;
    if (!current) throw new Error('a keyring needs at least one master key');
    for (const { id, key } of keys) {
      if (key.length !== 32) throw new Error(`master key ${id} must be 32 bytes`);
      this.#keys.set(id, key);
    }
    this.#current = current;
  }

  get currentKeyId(): string {
    return this.#current.id;
  }

  /** How every ciphertext sealed with the current key begins. */
  get currentPrefix(): string {
    return `v1.${this.#current.id}.`;
  }

  /** Whether this ring holds the key a ciphertext names. */
  canOpen(envelope: string): boolean {
    return this.#keys.has(keyIdOf(envelope));
  }

  encrypt(plaintext: string, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(Buffer.from(aad));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['v1', this.#current.id, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
  }

  decrypt(envelope: string, aad: string): string {
    const [version, keyId, iv, ciphertext, tag, ...rest] = envelope.split('.');
    if (version !== 'v1' || !keyId || iv === undefined || ciphertext === undefined || !tag || rest.length > 0) {
      throw new DecryptionError('malformed ciphertext');
    }
    const key = this.#keys.get(keyId);
    if (!key) throw new DecryptionError(`unknown master key id ${keyId}`);
    try {
      // authTagLength pins the tag to 16 bytes: Node would otherwise accept a truncated (4–15 byte) tag.
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionError('ciphertext does not authenticate');
    }
  }

  /** True when the ciphertext was made with an older key and should be re-encrypted. */
  isStale(envelope: string): boolean {
    return keyIdOf(envelope) !== this.#current.id;
  }
}
