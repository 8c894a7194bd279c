import { GetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaseAttribute } from '../../lib/core/schema.js';

/** A lease item exactly as stored (attribute-value form), by a strongly consistent read. */
export async function rawItem(
  client: DynamoDBClient,
  tableName: string,
  name: string,
): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: tableName, Key: { [LeaseAttribute.name]: { S: name } }, ConsistentRead: true }),
  );
  return Item;
}
