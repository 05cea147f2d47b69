export type ContentCoding = 'br' | 'gzip' | 'identity';

/** Our order of preference when the client weighs codings equally: the smallest first. */
const PREFERENCE: readonly ContentCoding[] = ['br', 'gzip', 'identity'];

/** A `q` value as RFC 9110 writes it (0 to 1, at most three decimals); anything else is not one. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The content coding to send for an `Accept-Encoding` header (RFC 9110 §12.5.3), among those
 * `available` (identity always is): the highest `q` wins, brotli before gzip before identity when
 * `q` ties. A coding the header does not name takes the weight of `*`, else 0; identity takes 1
 * unless the header weighs it. When nothing is acceptable the answer is identity, as the RFC asks.
 */
export function negotiateEncoding(header: string | undefined, available: ReadonlySet<ContentCoding>): ContentCoding {
  if (header === undefined) return 'identity';
  const weights = new Map<string, number>();
  for (const element of header.split(',')) {
    const [name, ...params] = element.split(';').map((part) => part.trim().toLowerCase());
    if (!name) continue;
    const q = params.find((param) => param.startsWith('q='))?.slice(2) ?? '1';
    if (!QVALUE.test(q)) continue;
    weights.set(name === 'x-gzip' ? 'gzip' : name, Number(q));
  }
  const weightOf = (coding: ContentCoding) => weights.get(coding) ?? weights.get('*') ?? (coding === 'identity' ? 1 : 0);
  let chosen: ContentCoding = 'identity';
  let best = 0;
  for (const coding of PREFERENCE) {
    if (coding !== 'identity' && !available.has(coding)) continue;
    const weight = weightOf(coding);
    if (weight > best) {
      chosen = coding;
      best = weight;
    }
  }
  return chosen;
}
