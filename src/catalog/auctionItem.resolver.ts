import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { Role } from '../auth/apiKey';
import type { GavelContext } from '../graphql/context';
import { AuctionItem, CreateAuctionItemInput, UpdateAuctionItemInput } from './auctionItem.types';

/** Reads and writes single auction items; the rules live in `CatalogService`. */
@Resolver(() => AuctionItem)
export class AuctionItemResolver {
  @Query(() => AuctionItem, { nullable: true, description: 'The auction item with this id, or null.' })
  async auctionItem(
    @Arg('id', () => ID) id: string,
    @Ctx() { services, client }: GavelContext,
  ): Promise<AuctionItem | null> {
    const item = await services.catalog.getItem(id);
    // An item page view is an impression when the client names its session (never blocks).
    if (item) services.tracking.recordImpressionsImplicitly(client, [{ itemId: item.id }], 'ITEM_PAGE');
    return item;
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => AuctionItem, { description: 'Lists a new auction item. Needs an ADMIN key.' })
  createAuctionItem(
    @Arg('input', () => CreateAuctionItemInput) input: CreateAuctionItemInput,
    @Ctx() { services }: GavelContext,
  ): Promise<AuctionItem> {
    return services.catalog.createItem(input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => AuctionItem, {
    description: 'Changes an auction item; status changes must follow the lifecycle. Needs an ADMIN key.',
  })
  updateAuctionItem(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateAuctionItemInput) input: UpdateAuctionItemInput,
    @Ctx() { services }: GavelContext,
  ): Promise<AuctionItem> {
    return services.catalog.updateItem(id, input);
  }
}
