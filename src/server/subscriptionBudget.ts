import { GraphQLError } from 'graphql';
import { ErrorCode } from '../shared/errors';

/**
 * The active-subscription budget: each open subscription holds its cost (the cost model's, as
 * checked per operation) against its API key and against its client address until it ends, and
 * a subscription that would take either past its budget is refused before anything runs. The
 * per-operation limit bounds one subscription; this bounds what one client holds open at once.
 *
 * An identical subscription counts in full although the multiplexer computes it once: the budget
 * is about what a client may hold open, and each subscriber still costs its own delivery (the
 * payload serialized and sent to it, its buffers) — the bytes of the amplification, where the
 * sharing only removes the computation. Whether a subscription is shared also depends on other
 * clients, and a budget must not change with them.
 *
 * Per instance and in process, like the websockets it counts.
 */

/** `LIVE_MAX_OPEN_COST_PER_KEY` and `LIVE_MAX_OPEN_COST_PER_ADDRESS`. */
export interface SubscriptionBudgetLimits {
  readonly maxOpenCostPerKey: number;
  readonly maxOpenCostPerAddress: number;
}

/** Who opens a subscription: its API key (none when anonymous or in open mode) and its address key. */
export interface BudgetHolder {
  readonly keyId: string | undefined;
  /** `addressLimitKey` of the client address (an IPv6 client by its /64). */
  readonly address: string;
}

/** The budget an open subscription holds; `release` gives it back (idempotent). */
export interface BudgetReservation {
  readonly cost: number;
  release(): void;
}

interface Account {
  cost: number;
  subscriptions: number;
}

const SCOPES = {
  key: { what: 'this API key', variable: 'LIVE_MAX_OPEN_COST_PER_KEY' },
  address: { what: 'this client address', variable: 'LIVE_MAX_OPEN_COST_PER_ADDRESS' },
} as const;

/** See the module comment. */
export class SubscriptionBudget {
  private readonly keys = new Map<string, Account>();
  private readonly addresses = new Map<string, Account>();

  constructor(private readonly limits: SubscriptionBudgetLimits) {}

  /**
   * Takes `cost` from the holder's key and address budgets, or returns the `QUERY_TOO_COMPLEX`
   * error that refuses the subscription (`extensions`: `cost`, `openCost`, `openSubscriptions`,
   * `budget`, `budgetScope` — `key` or `address`).
   */
  reserve(holder: BudgetHolder, cost: number): BudgetReservation | GraphQLError {
    const key = holder.keyId === undefined ? undefined : this.account(this.keys, holder.keyId);
    const address = this.account(this.addresses, holder.address);
    const refusal =
      (key && this.refusal('key', key, cost, this.limits.maxOpenCostPerKey)) ??
      this.refusal('address', address, cost, this.limits.maxOpenCostPerAddress);
    if (refusal) {
      this.forgetIfEmpty(this.keys, holder.keyId);
      this.forgetIfEmpty(this.addresses, holder.address);
      return refusal;
    }
    for (const account of [key, address]) {
      if (!account) continue;
      account.cost += cost;
      account.subscriptions++;
    }
    let held = true;
    return {
      cost,
      release: () => {
        if (!held) return;
        held = false;
        for (const [accounts, id] of [
          [this.keys, holder.keyId],
          [this.addresses, holder.address],
        ] as const) {
          const account = id === undefined ? undefined : accounts.get(id);
          if (!account) continue;
          account.cost -= cost;
          account.subscriptions--;
          this.forgetIfEmpty(accounts, id);
        }
      },
    };
  }

  /** Keys and addresses holding any budget, and the cost held in all (for tests and metrics). */
  stats(): { keys: number; addresses: number; openCost: number } {
    let openCost = 0;
    for (const account of this.addresses.values()) openCost += account.cost;
    return { keys: this.keys.size, addresses: this.addresses.size, openCost };
  }

  private account(accounts: Map<string, Account>, id: string): Account {
    let account = accounts.get(id);
    if (!account) accounts.set(id, (account = { cost: 0, subscriptions: 0 }));
    return account;
  }

  private forgetIfEmpty(accounts: Map<string, Account>, id: string | undefined): void {
    if (id !== undefined && accounts.get(id)?.subscriptions === 0) accounts.delete(id);
  }

  private refusal(
    scope: keyof typeof SCOPES,
    account: Account,
    cost: number,
    budget: number,
  ): GraphQLError | undefined {
    if (account.cost + cost <= budget) return undefined;
    const { what, variable } = SCOPES[scope];
    const open =
      account.subscriptions === 0
        ? `nothing is open for ${what}`
        : `the ${account.subscriptions} subscription${account.subscriptions === 1 ? '' : 's'} open for ${what} cost ${account.cost}`;
    return new GraphQLError(
      `This subscription costs ${cost} points and ${open}, over the budget of ${budget} points that may be open at once (${variable}): end a subscription first, or subscribe to less (fewer items, shorter ranges, coarser granularity).`,
      {
        extensions: {
          code: ErrorCode.QUERY_TOO_COMPLEX,
          cost,
          openCost: account.cost,
          openSubscriptions: account.subscriptions,
          budget,
          budgetScope: scope,
        },
      },
    );
  }
}
