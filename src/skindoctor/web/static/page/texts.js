// The page's texts: the server's message tables (/api/v1/messages/{lang}) looked up in the chosen language.
import { state } from "./state.js";

export function lookup(table, key) {
  return key.split(".").reduce((node, part) => (node && typeof node === "object" ? node[part] : undefined), table);
}

export function tr(key, values) {
  const raw = lookup(state.tables[state.lang] || {}, key) ?? lookup(state.tables.en || {}, key) ?? key;
  return typeof raw === "string" ? raw.replace(/\{(\w+)\}/g, (_, k) => (values && k in values ? values[k] : `{${k}}`)) : key;
}

export const t = (key) => tr(`ui.${key}`);

export function plainName(code) {
  const c = (state.tables[state.lang] || {}).classes?.[code];
  return c ? c.plain_name : code;
}

export function termName(code) {
  const c = (state.tables[state.lang] || {}).classes?.[code];
  return c ? c.name : code;
}

// "Mole (Melanocytic nevus)", but "Melanoma (a skin cancer)": the medical term only where it adds something
export const termAdds = (plain, term) => !!plain && !plain.toLowerCase().includes(term.toLowerCase());

export const fullName = (plain, term) => (termAdds(plain, term) ? `${plain} (${term})` : plain || term);

export function urgencyLabel(urgency, uncertain) {  // the knowledge base's words for an urgency level
  return (state.tables[state.lang] || {}).urgency_labels?.[uncertain ? "uncertain" : urgency] || "";
}

export async function loadTables() {
  await Promise.all(state.langs.map(async (lang) => {
    try { state.tables[lang] = await (await fetch(`/api/v1/messages/${lang}`)).json(); } catch (err) { /* stays keyed */ }
  }));
}
