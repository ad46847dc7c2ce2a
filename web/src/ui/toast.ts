/** Short confirmations ("Saved") announced politely to screen readers. */
import { ref } from 'vue'

export interface Toast {
  id: number
  text: string
  tone: 'success' | 'error' | 'info'
}

export const toasts = ref<Toast[]>([])
let next = 1

export function toast(text: string, tone: Toast['tone'] = 'success', ms = 4000): void {
  const id = next++
  toasts.value.push({ id, text, tone })
  setTimeout(() => dismissToast(id), ms)
}

export function dismissToast(id: number): void {
  toasts.value = toasts.value.filter((t) => t.id !== id)
}
