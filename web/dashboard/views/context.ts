import type { Api } from '../api';

/** What a view gets: the API client and what the key may see. */
export interface ViewContext {
  readonly api: Api;
  /** `seller`: a SELLER key, which sees its own items' figures only (no marketplace-wide views). */
  readonly role: 'analyst' | 'seller';
}

/** A rendered view; the function stops its subscriptions and timers. */
export type View = (container: HTMLElement, context: ViewContext, argument?: string) => () => void;
