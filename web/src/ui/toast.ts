/** Short confirmations ("Saved") announced politely to screen readers. */
import { ref } from 'vue'

export interface Toast {
  id: number
  text: string
  tone: 'success' | 'error' | 'info'
  /** An in-app link shown in the toast (e.g. to a matching listing). */
  link?: { to: string; label: string }
}

export const toasts = ref<Toast[]>([])
let next = 1

export function toast(text: string, tone: Toast['tone'] = 'success', ms = 4000, link?: Toast['link']): void {
  const id = next++
  toasts.value.push({ id, text, tone, link })
  setTimeout(() => dismissToast(id), ms)
}

export function dismissToast(id: number): void {
  toasts.value = toasts.value.filter((t) => t.id !== id)
}
