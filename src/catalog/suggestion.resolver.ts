import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { GavelContext } from '../graphql/context';
import { AuctionItemFilter } from './search.types';
import { SearchSuggestion } from './suggestion.types';

/** `Query.searchSuggestions`: the rules live in `SuggestionService`. */
@Resolver(() => SearchSuggestion)
export class SuggestionResolver {
  @Query(() => [SearchSuggestion], {
    description:
      'Completions of what a buyer is typing, from the open lots: words of their titles, their tags and categories, each with the open lots it finds under `filter` (the filter of `auctionItems`). Counted live: a lot that opens or closes changes them at once. Limited per client address (SUGGESTIONS_PER_MINUTE).',
  })
  searchSuggestions(
    @Ctx() { services, client }: GavelContext,
    @Arg('prefix', {
      description:
        'What is typed so far, at most 200 characters and 8 words; the last word is completed, the words before it narrow the counts.',
    })
    prefix: string,
    @Arg('filter', () => AuctionItemFilter, { nullable: true }) filter?: AuctionItemFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'How many suggestions: 1 to 20, default 8.' })
    first?: number | null,
  ): Promise<SearchSuggestion[]> {
    return services.suggestions.suggest({ prefix, filter, first }, client);
  }
}
