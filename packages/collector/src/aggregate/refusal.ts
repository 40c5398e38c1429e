/** Why points were not taken; becomes the partial-success message and a self-metric label. */
export interface Refusal {
  readonly reason: string;
  readonly message: string;
}

export function refusal(reason: string, message: string): Refusal {
  return { reason, message };
}
