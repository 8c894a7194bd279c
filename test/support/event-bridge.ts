/**
 * An EventBridge client whose requests stop in its own middleware stack: the SDK builds and
 * validates each PutEvents call as usual, and this records the entries and answers for the
 * service, failing the first `failFirst` entries it sees.
 */
import { EventBridgeClient, type PutEventsCommandInput, type PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';

export function recordingEventBridge(options: { failFirst?: number } = {}) {
  let toFail = options.failFirst ?? 0;
  const calls: number[] = [];
  const delivered: { DetailType?: string; Detail?: string }[] = [];
  const client = new EventBridgeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'leasehold', secretAccessKey: 'leasehold' },
  });
  client.middlewareStack.add(
    () => async (args) => {
      const { Entries = [] } = args.input as PutEventsCommandInput;
      calls.push(Entries.length);
      const results = Entries.map((entry) => {
        if (toFail > 0) {
          toFail--;
          return { ErrorCode: 'InternalFailure', ErrorMessage: 'injected' };
        }
        delivered.push(entry);
        return { EventId: crypto.randomUUID() };
      });
      const output: PutEventsCommandOutput = {
        Entries: results,
        FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
        $metadata: { httpStatusCode: 200 },
      };
      return { output, response: {} };
    },
    { step: 'initialize', name: 'recordPutEvents' },
  );
  return {
    client,
    calls: () => calls,
    detailsOf: (detailType: string) => delivered.filter((e) => e.DetailType === detailType).map((e) => JSON.parse(e.Detail ?? '{}') as unknown),
  };
}
