// The company's feed: items it publishes for the person under an `append`
// grant (here, order receipts), fetched by the person's desktop with
// `GET feed_uri?grant_id=grt_…&after=<cursor>`.
//
// Each item is a compact JWS signed by the company (keys.mjs,
// `signFeedItem`), so the desktop stores only what the company vouches for.
// The cursor is simply how many items of that grant were already handed out.

/** The most a feed answer may weigh (the desktop reads at most 1 MiB). */
export const MAX_FEED_BYTES = 1024 * 1024;

/**
 * The container an order receipt goes to under `grant` (the grant as the
 * person gave it, from a `granted` delivery): the first container granted
 * with `append` (or `write`), preferring `/purchases/`. Null when none.
 */
export function appendContainer(grant) {
  const containers = [];
  for (const detail of grant?.authorization_details ?? []) {
    const actions = detail.actions ?? [];
    if (!actions.includes('append') && !actions.includes('write')) continue;
    for (const path of detail.paths ?? []) if (path.endsWith('/')) containers.push(path);
  }
  return containers.includes('/purchases/') ? '/purchases/' : (containers[0] ?? null);
}

/** An order receipt as a feed item's `item` claim. */
export function orderReceipt({ container, orderNumber, shopName, placedAt = new Date() }) {
  return {
    container,
    slug: `order-${orderNumber}`,
    content_type: 'application/json',
    content: {
      type: 'order_receipt',
      shop: shopName,
      order: String(orderNumber),
      placed_at: placedAt.toISOString(),
      lines: [
        { item: 'Loose-leaf tea, 250 g', quantity: 2, price: '6.50' },
        { item: 'Teapot, 1 l', quantity: 1, price: '24.00' },
      ],
      total: '37.00',
      currency: 'EUR',
    },
  };
}

export class Feed {
  constructor({ snapshot } = {}) {
    this.items = snapshot?.items ?? {}; // grant id → [JWS, …]
  }

  add(grantId, jws) {
    (this.items[grantId] ??= []).push(jws);
  }

  /**
   * One answer of the feed: the items of `grantId` after the cursor `after`
   * ("" or absent: from the start), as many as fit in MAX_FEED_BYTES.
   * Returns `{ items, next }`, or null when the cursor is not one this feed gave.
   */
  page(grantId, after) {
    const all = this.items[grantId] ?? [];
    const start = after === undefined || after === null || after === '' ? 0 : Number(after);
    if (!Number.isSafeInteger(start) || start < 0 || start > all.length || String(start) !== String(after || 0)) {
      return null;
    }
    const items = [];
    let bytes = 64; // the JSON around the items, generously
    for (const jws of all.slice(start)) {
      bytes += jws.length + 3;
      if (bytes > MAX_FEED_BYTES) break;
      items.push(jws);
    }
    return { items, next: String(start + items.length) };
  }

  snapshot() {
    return { items: this.items };
  }
}
