/** Billing (`/v1/billing`): monthly invoices. */
import { api, type Query } from './http'
import type { Invoice, InvoicePage } from './types'

export const billingApi = {
  invoices: (query: Query) => api.get<InvoicePage>('/v1/billing/invoices', query),
  invoice: (id: string) => api.get<Invoice>(`/v1/billing/invoices/${encodeURIComponent(id)}`),
}
