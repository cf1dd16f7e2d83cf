import { Types } from 'mongoose';
import { badUserInput } from './errors';

/**
 * Parses a client-supplied id into an ObjectId, or throws `BAD_USER_INPUT` naming the argument.
 * Only the canonical 24-hex-digit form is accepted (mongoose would also take 12-byte strings).
 */
export function parseObjectId(value: string, field: string): Types.ObjectId {
  if (!/^[0-9a-fA-F]{24}$/.test(value)) {
    throw badUserInput(field, `${field} must be a 24-character hexadecimal id.`);
  }
  return new Types.ObjectId(value);
}
