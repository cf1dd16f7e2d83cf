import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GavelContext } from '../graphql/context';
import { AuctionItem, CreateAuctionItemInput, UpdateAuctionItemInput } from './auctionItem.types';

/** Reads and writes single auction items; the rules live in `CatalogService`. */
@Resolver(() => AuctionItem)
export class AuctionItemResolver {
  @Query(() => AuctionItem, { nullable: true, description: 'The auction item with this id, or null.' })
  auctionItem(@Arg('id', () => ID) id: string, @Ctx() { services }: GavelContext): Promise<AuctionItem | null> {
    return services.catalog.getItem(id);
  }

  @Authorized()
  @Mutation(() => AuctionItem, { description: 'Lists a new auction item. Needs a token when AUTH_TOKENS is set.' })
  createAuctionItem(
    @Arg('input', () => CreateAuctionItemInput) input: CreateAuctionItemInput,
    @Ctx() { services }: GavelContext,
  ): Promise<AuctionItem> {
    return services.catalog.createItem(input);
  }

  @Authorized()
  @Mutation(() => AuctionItem, {
    description:
      'Changes an auction item; status changes must follow the lifecycle. Needs a token when AUTH_TOKENS is set.',
  })
  updateAuctionItem(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateAuctionItemInput) input: UpdateAuctionItemInput,
    @Ctx() { services }: GavelContext,
  ): Promise<AuctionItem> {
    return services.catalog.updateItem(id, input);
  }
}
