/**
 * Keyset paging: the API gives only `next_cursor`, so going back means
 * remembering the cursors that led here. Reset whenever the filters change.
 */
import { computed, ref } from 'vue'

export function useCursorPager() {
  const stack = ref<(string | null)[]>([null])
  const cursor = computed(() => stack.value[stack.value.length - 1] ?? null)
  const page = computed(() => stack.value.length)

  return {
    cursor,
    page,
    hasPrevious: computed(() => stack.value.length > 1),
    next(nextCursor: string | null | undefined) {
      if (nextCursor) stack.value = [...stack.value, nextCursor]
    },
    previous() {
      if (stack.value.length > 1) stack.value = stack.value.slice(0, -1)
    },
    reset() {
      stack.value = [null]
    },
  }
}
