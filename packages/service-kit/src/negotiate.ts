/** A media type a handler can write, with the parameters it writes (e.g. version=1.0.0). */
export interface Offer {
  type: string;
  subtype: string;
  params: Readonly<Record<string, string>>;
}

interface MediaRange extends Offer {
  q: number;
}

// Parameters that say nothing about which format is wanted.
const IGNORED_PARAMS = new Set(['q', 'charset']);

export function parseMediaType(text: string): Offer {
  const [full = '', ...rawParams] = text.split(';');
  const [type = '', subtype = ''] = full.trim().toLowerCase().split('/');
  const params: Record<string, string> = {};
  for (const raw of rawParams) {
    const eq = raw.indexOf('=');
    if (eq > 0)
      params[raw.slice(0, eq).trim().toLowerCase()] = raw
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
  }
  return { type, subtype, params };
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(',')
    .filter((part) => part.trim())
    .map((part) => {
      const { type, subtype, params } = parseMediaType(part);
      const q = params.q === undefined ? 1 : Number(params.q);
      return { type, subtype, params, q: Number.isFinite(q) ? q : 0 };
    });
}

/** How closely a range names an offer: -1 no match, higher is more specific (RFC 9110 12.5.1). */
function specificity(range: MediaRange, offer: Offer): number {
  if (range.type !== '*' && range.type !== offer.type) return -1;
  if (range.subtype !== '*' && range.subtype !== offer.subtype) return -1;
  const params = Object.entries(range.params).filter(([name]) => !IGNORED_PARAMS.has(name));
  if (params.some(([name, value]) => offer.params[name] !== value)) return -1;
  return (range.type === '*' ? 0 : 4) + (range.subtype === '*' ? 0 : 2) + (params.length > 0 ? 1 : 0);
}

/** The quality the Accept header gives an offer: that of the most specific range naming it (0 when none does). */
function qualityOf(ranges: readonly MediaRange[], offer: Offer): number {
  let best = -1;
  let q = 0;
  for (const range of ranges) {
    const s = specificity(range, offer);
    if (s > best) [best, q] = [s, range.q];
  }
  return q;
}

/**
 * Index of the offer the client prefers, or -1 when it accepts none. Ties go to the earlier offer,
 * so a wildcard Accept gets the first.
 */
export function preferredOffer(accept: string, offers: readonly Offer[]): number {
  const ranges = parseAccept(accept);
  let chosen = -1;
  let chosenQ = 0;
  offers.forEach((offer, index) => {
    const q = qualityOf(ranges, offer);
    if (q > chosenQ) [chosen, chosenQ] = [index, q];
  });
  return chosen;
}
