import { createApp } from 'vue'
import { createPinia } from 'pinia'
import { QueryClient, VueQueryPlugin } from '@tanstack/vue-query'
import App from './App.vue'
import { createAppRouter } from './router'
import { configureHttp } from './api/http'
import { ApiError } from './api/errors'
import { useSessionStore } from './stores/session'
import './style.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: true,
      // Do not hammer the API with a 4xx; retry once on network/5xx.
      retry: (count, err) => !(err instanceof ApiError && err.status < 500) && count < 1,
    },
  },
})
app.use(VueQueryPlugin, { queryClient })

const session = useSessionStore()
configureHttp({ onSessionExpired: () => session.onSessionExpired() })

const router = createAppRouter()
app.use(router)
app.provide('queryClient', queryClient)
app.mount('#app')
