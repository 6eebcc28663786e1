/** What a scheme signs: the same for every scheme, so a new scheme is one small module. */
export interface SignInput {
  /** `webhook-id`: the event id. */
  msgId: string;
  /** `webhook-timestamp`: unix seconds of this attempt. */
  timestamp: number;
  /** The exact request body bytes. */
  body: string;
  /** Every secret that signs this request: the current one first, then unexpired previous ones. */
  secrets: string[];
}

/** A signature scheme: turns the input into the headers that carry the signature(s). */
export type Signer = (input: SignInput) => Record<string, string>;
