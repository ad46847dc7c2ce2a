/** The return reasons a buyer may give, in the API's codes with their labels. */
import type { ReturnReason } from '@/api/types'

export const RETURN_REASONS: { value: ReturnReason; label: string }[] = [
  { value: 'unreachable', label: 'Contact unreachable' },
  { value: 'wrong_data', label: 'Wrong contact data' },
  { value: 'outside_criteria', label: "Outside the listing's criteria" },
  { value: 'already_known', label: 'Already known to us' },
  { value: 'duplicate', label: 'Duplicate of a lead we bought' },
]

export function reasonLabel(code: string): string {
  return RETURN_REASONS.find((r) => r.value === code)?.label ?? code
}
