import { malformedBody } from '../errors.js';
import type { Codec, ExportResult } from './codec.js';
import { normalizeRequest } from './normalize.js';

const EMPTY_RESPONSE = Buffer.from('{}');

export function createJsonCodec(): Codec {
  return {
    encoding: 'json',
    contentType: 'application/json',
    decodeRequest(body) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw malformedBody(`invalid JSON: ${(err as Error).message}`);
      }
      return normalizeRequest(parsed);
    },
    encodeResponse(result: ExportResult) {
      if (result.rejectedDataPoints === 0) {
        return EMPTY_RESPONSE;
      }
      // proto3 JSON mapping: int64 is written as a decimal string.
      return Buffer.from(
        JSON.stringify({
          partialSuccess: {
            rejectedDataPoints: String(result.rejectedDataPoints),
            errorMessage: result.errorMessage,
          },
        })
      );
    },
    encodeStatus(code, message) {
      return Buffer.from(JSON.stringify({ code, message }));
    },
  };
}
