// @vitest-environment node
/**
 * The live events' TypeScript types are generated (`npm run gen:events`) from the
 * committed JSON Schema, which a pytest compares with the server's models: this
 * fails when the generated file was not regenerated after the schema changed.
 */
import { compile, type JSONSchema } from 'json-schema-to-typescript'
import { describe, expect, it } from 'vitest'
import pkg from '../../package.json'
import schema from './live-events.json'
import committed from './live-events.d.ts?raw'

describe('generated live event types', () => {
  it('live-events.d.ts is what gen:events makes of live-events.json', async () => {
    const banner = /--bannerComment "([^"]*)"/.exec(pkg.scripts['gen:events'])?.[1] ?? ''
    const generated = await compile(schema as JSONSchema, 'LiveEvents', { additionalProperties: false, bannerComment: banner })
    expect(committed, 'regenerate with `npm run gen:events`').toBe(generated)
  })
})
