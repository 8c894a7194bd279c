import type { Contender } from './contender.js';
import { deliveryheroDynamodbLock } from './deliveryhero-dynamodb-lock.js';
import { dynamodbLockClient } from './dynamodb-lock-client.js';
import { leasehold } from './leasehold.js';

export type { Contender, ContenderOptions, Participant } from './contender.js';

/** leasehold first, then the peers it is compared with. */
export const contenders: readonly Contender[] = [leasehold, dynamodbLockClient, deliveryheroDynamodbLock];

export function contenderNamed(name: string): Contender {
  const found = contenders.find((c) => c.name === name);
  if (!found) throw new Error(`no contender named ${name}`);
  return found;
}
