#!/usr/bin/env node
// Writes a stand-in for a first-turn Claude Code request body (POST /v1/messages, `claude -p`),
// used only until the real capture exists at bench/data/claude-code-request.json.
//
// Shape follows shared/reference/claude-code.md §1.3 (keys, 3 system blocks, 12 tools, a
// system-role message, cache_control on the last block); the size is padded to exactly
// TARGET bytes so the gateways move the same amount of data as with the real body.
// The content is deterministic (no randomness) so two runs send identical bytes, and it holds
// nothing that looks like a secret: this benchmark measures the clean path.
//
// usage: node standin-body.js [bytes] > body.json
'use strict';

const target = Number.parseInt(process.argv[2] ?? '50176', 10); // 49 KiB

const prose = [
  'You are an interactive agent that helps users with software engineering tasks.',
  'Use the instructions below and the tools available to you to assist the user.',
  'Prefer editing existing files to creating new ones, keep changes small and explain why.',
  'When you run a command that changes the system, say what it does before running it.',
  'Read the surrounding code before changing it and follow the conventions you find there.',
  'Tests must assert real behaviour; never weaken a test to make it pass.',
];

function paragraph(seed, sentences) {
  const out = [];
  for (let i = 0; i < sentences; i++) {
    out.push(prose[(seed + i * 7) % prose.length]);
  }
  return out.join(' ');
}

function tool(name, index) {
  return {
    name,
    description: `${name}: ${paragraph(index, 18)}`,
    input_schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      additionalProperties: false,
      properties: {
        file_path: { type: 'string', description: `The absolute path used by ${name}. ${paragraph(index + 1, 2)}` },
        pattern: { type: 'string', description: `Optional pattern for ${name}. ${paragraph(index + 2, 2)}` },
        limit: { type: 'integer', minimum: 1, description: 'Largest number of lines or results to return.' },
      },
      required: ['file_path'],
    },
  };
}

const toolNames = ['Agent', 'Bash', 'Edit', 'Glob', 'Grep', 'Read', 'Skill', 'TodoWrite', 'ToolSearch', 'WebFetch', 'WebSearch', 'Write'];

function build(padding) {
  return {
    model: 'claude-opus-5-5',
    messages: [
      { role: 'system', content: 'The user is working in a git repository; the working tree is clean.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: `<system-reminder>\n${paragraph(3, 10)}\n</system-reminder>` },
          { type: 'text', text: `Explain what the relay loop in the gateway does.${padding}`, cache_control: { type: 'ephemeral' } },
        ],
      },
    ],
    system: [
      { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.330.bench; cc_entrypoint=sdk-cli;' },
      { type: 'text', text: 'You are Claude Code, a command line coding agent.' },
      { type: 'text', text: paragraph(0, 60), cache_control: { type: 'ephemeral' } },
    ],
    tools: toolNames.map((name, i) => tool(name, i)),
    metadata: { user_id: JSON.stringify({ device_id: 'bench-device-0001', session_id: '00000000-0000-4000-8000-000000000001' }) },
    max_tokens: 128000,
    thinking: { type: 'adaptive' },
    context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
    output_config: { effort: 'high' },
    stream: true,
  };
}

const base = Buffer.byteLength(JSON.stringify(build('')));
if (base > target) {
  process.stderr.write(`stand-in skeleton is ${base} bytes, larger than the ${target} asked for\n`);
  process.exit(1);
}
// Pad with plain ASCII words: one byte per character, no JSON escaping, so the size is exact.
const filler = ` ${paragraph(5, 400)}`;
let padding = '';
while (padding.length < target - base) {
  padding += filler;
}
padding = padding.slice(0, target - base);
const body = JSON.stringify(build(padding));
process.stdout.write(body);
