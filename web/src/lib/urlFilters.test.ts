import { describe, expect, it } from 'vitest'
import { createRouter, createMemoryHistory } from 'vue-router'
import { createApp, defineComponent, h, nextTick } from 'vue'
import { filtersFromQuery, queryFromFilters, useUrlFilters } from './urlFilters'

const defaults = { status: '', stage: '', q: '' }

describe('URL filters', () => {
  it('reads known keys from the query and ignores the rest', () => {
    expect(filtersFromQuery({ status: 'listed', foo: 'x', q: ['a', 'b'] }, defaults)).toEqual({
      status: 'listed',
      stage: '',
      q: 'a',
    })
  })

  it('writes only non-default filters and keeps other keys', () => {
    expect(queryFromFilters({ status: 'sold', stage: '', q: 'acme' }, defaults, { tab: 'x', status: 'old' })).toEqual({
      tab: 'x',
      status: 'sold',
      q: 'acme',
    })
  })

  it('keeps the filters in the router location', async () => {
    const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/leads', component: { render: () => null } }] })
    await router.push('/leads?stage=won')
    let api!: ReturnType<typeof useUrlFilters<typeof defaults>>
    const app = createApp(defineComponent({ setup: () => { api = useUrlFilters(defaults); return () => h('div') } }))
    app.use(router)
    app.mount(document.createElement('div'))
    expect(api.filters.value.stage).toBe('won')
    expect(api.active.value).toEqual(['stage'])
    await api.set({ status: 'listed', q: 'acme' })
    await nextTick()
    expect(router.currentRoute.value.query).toEqual({ stage: 'won', status: 'listed', q: 'acme' })
    await api.clear()
    expect(router.currentRoute.value.fullPath).toBe('/leads')
    app.unmount()
  })
})
