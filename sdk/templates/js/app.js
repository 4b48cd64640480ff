// __NAME__: a Tollgate plugin.
import { log } from 'tollgate:plugin/log@0.1.0';
import { set as setOutput } from 'tollgate:plugin/outputs@0.1.0';

export function describe() {
  return {
    name: '__NAME__',
    version: '0.1.0',
    summary: 'Greets someone by name.',
    inputs: [
      {
        name: 'name',
        kind: 'string',
        required: false,
        default: JSON.stringify('world'),
        doc: 'Who to greet.',
        grantsOrigins: false,
      },
    ],
    outputs: [{ name: 'greeting', doc: 'The greeting, e.g. `Hello, world!`.' }],
    capabilities: [],
  };
}

export function run(inputs, context) {
  const args = Object.fromEntries(inputs.map((i) => [i.name, JSON.parse(i.value)]));
  const name = args.name;
  if (!name.trim()) {
    throw invalidInput('name', 'must not be empty: give the name to greet');
  }
  log('info', `greeting ${name}`);
  setOutput('greeting', `Hello, ${name}!`);
  return { status: 'passed', message: `greeted ${name}` };
}

// What `run` throws to end with an error the host understands (any other exception is a
// bug in the plugin and fails the step): tags are invalid-input (exit 2), denied (exit 2),
// peer (exit 1) and internal (exit 1).
function invalidInput(input, message) {
  return { tag: 'invalid-input', val: { input, message } };
}
