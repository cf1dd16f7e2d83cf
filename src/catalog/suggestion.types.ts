import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { SuggestionKind } from './suggestion.model';

registerEnumType(SuggestionKind, {
  name: 'SearchSuggestionKind',
  description: 'Where a suggestion goes in the next `auctionItems` call.',
  valuesConfig: {
    WORD: { description: "A word of open lots' titles: search with `query`." },
    TAG: { description: 'A tag of open lots: search with `filter.tags: [text]`.' },
    CATEGORY: { description: 'A category with open lots: search with `filter.category: [text]`.' },
    QUERY: {
      description:
        'A whole query that enough buyers searched and clicked a result of (`SUGGESTIONS_QUERY_MIN_SEARCHERS`: distinct sessions from as many client addresses): search with `query`.',
    },
  },
});

@ObjectType({ description: 'A completion of what the buyer is typing, and how many open lots it finds.' })
export class SearchSuggestion {
  @Field(() => SuggestionKind)
  kind!: SuggestionKind;

  @Field({ description: 'The completed word, the past query, the tag or the category slug.' })
  text!: string;

  @Field(() => String, {
    nullable: true,
    description:
      'WORD: the whole query to search (the words typed before the last one, then `text`); QUERY: `text`. Null for TAG and CATEGORY, which are filters.',
  })
  query!: string | null;

  @Field(() => Int, {
    description:
      'Open (ACTIVE) lots it finds under the same filter: for a WORD, lots holding the word (and the words typed before it) in title, description or tags; for a QUERY, the lots `auctionItems(query: text)` finds; for a TAG or a CATEGORY, lots with that tag or category.',
  })
  openLots!: number;

  @Field({
    description:
      'The completion corrects a typo in the last word (one edit allowed from 5 letters, two from 9); ranked after completions of the word as typed.',
  })
  corrected!: boolean;
}
