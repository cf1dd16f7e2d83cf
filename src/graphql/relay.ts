import { Field, ObjectType } from 'type-graphql';

/** Relay Cursor Connections `PageInfo`, shared by every connection of the API. */
@ObjectType({ description: 'Where a page sits in its connection (Relay Cursor Connections).' })
export class PageInfo {
  @Field({ description: 'More items follow endCursor (paging forward).' })
  hasNextPage!: boolean;

  @Field({ description: 'More items precede startCursor (paging backward).' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** Sort direction of any ordered list. */
export enum SortDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
