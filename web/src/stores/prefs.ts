/** UI preferences kept in the browser: table density, navigation collapsed. */
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'

const KEY = 'pc.prefs'

interface Prefs {
  dense: boolean
  pageSize: number
}

function load(): Prefs {
  try {
    const raw = localStorage.getItem(KEY)
    if (raw) return { dense: false, pageSize: 50, ...JSON.parse(raw) }
  } catch {
    /* ignore */
  }
  return { dense: false, pageSize: 50 }
}

export const usePrefsStore = defineStore('prefs', () => {
  const initial = load()
  const dense = ref(initial.dense)
  const pageSize = ref(initial.pageSize)
  watch([dense, pageSize], () => {
    try {
      localStorage.setItem(KEY, JSON.stringify({ dense: dense.value, pageSize: pageSize.value }))
    } catch {
      /* ignore */
    }
  })
  return { dense, pageSize }
})
