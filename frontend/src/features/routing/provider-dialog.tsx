import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { routingProvidersPutMutation } from "@/client/@tanstack/react-query.gen";
import type { ModelProviderInputWritable, ModelProviderPublic } from "@/client/types.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { NativeSelect } from "@/components/ui/native-select";
import type { FieldErrors } from "@/lib/form";
import { formatDateTime } from "@/lib/format";
import { toast } from "@/lib/toast";
import { apiFieldErrors, NAME_HINT, ROUTING_NAME } from "./model";
import { invalidateProviders } from "./queries";

type Kind = ModelProviderPublic["kind"];

const KINDS: { value: Kind; label: string; example: string }[] = [
  { value: "openai", label: "OpenAI-compatible (OpenAI, vLLM, Ollama, the simulator…)", example: "https://api.openai.com/v1" },
  { value: "azure-openai", label: "Azure OpenAI (deployments)", example: "https://<resource>.openai.azure.com/openai" },
  { value: "anthropic", label: "Anthropic (Messages API)", example: "https://api.anthropic.com" },
];

const FIELDS = new Set(["name", "kind", "baseUrl", "apiVersion", "region", "timeoutSeconds", "apiKey"]);

export function ProviderDialog({
  open,
  onOpenChange,
  provider = null,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** The provider to change; null creates one. */
  provider?: ModelProviderPublic | null;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open ? <ProviderForm provider={provider} onDone={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

/**
 * Create or change a provider. Its API key is write-only: the field always starts empty (the API
 * never returns a key, only whether one is set); leaving it empty keeps the stored key.
 */
function ProviderForm({ provider, onDone }: { provider: ModelProviderPublic | null; onDone: () => void }) {
  const queryClient = useQueryClient();
  const editing = provider !== null;
  const [name, setName] = useState(provider?.name ?? "");
  const [kind, setKind] = useState<Kind>(provider?.kind ?? "openai");
  const [baseUrl, setBaseUrl] = useState(provider?.baseUrl ?? "");
  const [apiVersion, setApiVersion] = useState(provider?.apiVersion ?? "");
  const [region, setRegion] = useState(provider?.region ?? "");
  const [timeout, setTimeoutValue] = useState(String(provider?.timeoutSeconds ?? 60));
  const [apiKey, setApiKey] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [checked, setChecked] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    if (!checked) return;
    formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [checked]);

  const save = useMutation({
    ...routingProvidersPutMutation(),
    onSuccess: (p) => {
      // the typed key is gone from the page once the dialog closes
      toast({
        title: editing ? "Provider saved" : "Provider created",
        description: `${p.name} (${p.kind}) at ${p.baseUrl}${p.keySet ? "; its key is stored sealed." : "; no key stored."}`,
        variant: "success",
      });
      onDone();
    },
    onError: (e) => {
      setErrors(apiFieldErrors(e));
      setChecked((n) => n + 1);
    },
    onSettled: () => invalidateProviders(queryClient),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const local: FieldErrors = {};
    const n = name.trim();
    if (!n) local.name = "Give the provider a name, e.g. “openai”.";
    else if (!ROUTING_NAME.test(n)) local.name = NAME_HINT;
    const url = baseUrl.trim();
    if (!/^https?:\/\/[^/\s?#]+(\/[^\s?#]*)?$/.test(url)) local.baseUrl = `An http(s) URL with a host and no query, e.g. ${KINDS.find((k) => k.value === kind)?.example}.`;
    const t = Number(timeout);
    if (!timeout.trim() || !Number.isFinite(t) || t <= 0 || t > 600) local.timeoutSeconds = "Seconds, more than 0 and at most 600.";
    setErrors(local);
    if (Object.keys(local).length) {
      setChecked((c) => c + 1);
      return;
    }
    const body: ModelProviderInputWritable = {
      kind,
      baseUrl: url,
      region: region.trim(),
      timeoutSeconds: t,
      ...(kind === "azure-openai" && apiVersion.trim() ? { apiVersion: apiVersion.trim() } : {}),
      // write-only: sent only when typed, so an empty field keeps the stored key
      ...(apiKey ? { apiKey } : {}),
    };
    save.mutate({ path: { name: n }, body });
  }

  const otherError = save.error && !Object.keys(apiFieldErrors(save.error)).some((k) => FIELDS.has(k));
  const example = KINDS.find((k) => k.value === kind)?.example;
  return (
    <DialogContent>
      <form ref={formRef} onSubmit={submit} className="grid max-h-[80vh] gap-4 overflow-y-auto p-0.5" noValidate>
        <DialogHeader>
          <DialogTitle>{editing ? `Edit provider ${provider.name}` : "New provider"}</DialogTitle>
          <DialogDescription>
            A model provider the gateway calls. Its API key is sealed (AES-256-GCM) before it is stored and is never shown again, to
            anyone.
          </DialogDescription>
        </DialogHeader>
        <FormField label="Name (required)" error={errors.name} hint={editing ? "A provider keeps its name." : `${NAME_HINT} Classes name it.`}>
          {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" readOnly={editing} required />}
        </FormField>
        <FormField label="Wire format" error={errors.kind}>
          {(p) => (
            <NativeSelect {...p} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
              {KINDS.map((k) => (
                <option key={k.value} value={k.value}>
                  {k.label}
                </option>
              ))}
            </NativeSelect>
          )}
        </FormField>
        <FormField label="Base URL (required)" error={errors.baseUrl} hint={`e.g. ${example}`}>
          {(p) => <Input {...p} type="url" inputMode="url" value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} autoComplete="off" required />}
        </FormField>
        {kind === "azure-openai" ? (
          <FormField label="API version" error={errors.apiVersion} hint="The api-version query value (2024-10-21 when empty).">
            {(p) => <Input {...p} value={apiVersion} onChange={(e) => setApiVersion(e.target.value)} autoComplete="off" />}
          </FormField>
        ) : null}
        <FormField label="Region (optional)" error={errors.region} hint="Where requests are processed; a class's residency policy matches it.">
          {(p) => <Input {...p} value={region} onChange={(e) => setRegion(e.target.value)} autoComplete="off" placeholder="eu-west" />}
        </FormField>
        <FormField label="Timeout (seconds)" error={errors.timeoutSeconds} hint="Silence from the provider longer than this fails the attempt.">
          {(p) => <Input {...p} type="number" inputMode="decimal" min={1} max={600} value={timeout} onChange={(e) => setTimeoutValue(e.target.value)} />}
        </FormField>
        <FormField
          label={editing ? "New API key (write-only)" : "API key (write-only)"}
          error={errors.apiKey}
          hint={
            editing
              ? provider.keySet
                ? `A key is stored (set ${formatDateTime(provider.keySetAt, true)}). Leave this empty to keep it; type a key to replace it.`
                : "No key is stored. Type one if the provider needs it."
              : "Sealed before it is stored; it is never shown again. Leave empty for a provider that needs none."
          }
        >
          {(p) => (
            <Input
              {...p}
              type="password"
              value={apiKey}
              onChange={(e) => setApiKey(e.target.value)}
              autoComplete="new-password"
              spellCheck={false}
              placeholder={editing && provider.keySet ? "•••••• (stored, not shown)" : ""}
            />
          )}
        </FormField>
        {editing && provider.keySet ? (
          <p className="flex items-center gap-2 text-sm">
            <Badge variant="success">Key set</Badge>
            <span className="text-muted-foreground">sealed with data key {provider.keySealedWith ?? "?"}</span>
          </p>
        ) : null}
        {otherError ? <ErrorState error={save.error} title={editing ? "Could not save the provider" : "Could not create the provider"} compact /> : null}
        <DialogFooter>
          <Button variant="outline" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" disabled={save.isPending}>
            {save.isPending ? "Saving…" : editing ? "Save provider" : "Create provider"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
