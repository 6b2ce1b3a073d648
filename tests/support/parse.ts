import { orderPlacedV1 } from '../../domain/events.ts';

export const parseOrderPlaced = (detail: unknown) => orderPlacedV1.parse(detail);
