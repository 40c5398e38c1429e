export { createPrivacyPolicy, PERSONAL_KEYS, REDACTED } from './policy.js';
export type { KeyedHashSettings, PrivacyPolicy, PrivacySettings, VerifiedSender } from './policy.js';
export { foldKey } from './key-folding.js';
export { containsEmailAddress } from './email-address.js';
