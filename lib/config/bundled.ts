// The configuration a function finds beside its bundle: checked in full at `cdk synth`, so at run time only its structure is parsed again (and the synth-only checks stay out of the bundle).
import { parseConfigWith, readConfigFile } from './read';
import { configSchema, type DbMaintConfig } from './schema';

export function loadBundledConfig(file: string): DbMaintConfig {
  return readConfigFile(file, (raw, source) => parseConfigWith(configSchema, raw, source));
}
