import { useQuery } from "@tanstack/react-query";
import type { ProviderPublic, ServicePublic } from "@/client/types.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { NativeSelect } from "@/components/ui/native-select";
import { servicesQueryOptions, useServiceProvider } from "./queries";

/** "Its traffic provider, HAProxy (haproxy), sends …": the provider's title once known, its name until then. */
function providerHint(service?: ServicePublic, provider?: ProviderPublic): string {
  if (!service) return "The service's traffic provider (the edge router, HAProxy, the Gateway API) sends a share of its traffic to the canary.";
  const who = provider ? `${provider.title} (${service.provider})` : `Its traffic provider (${service.provider})`;
  return `${who} sends a share of ${service.name}'s traffic to the canary.`;
}

/**
 * The service a rollout is of, chosen from GET /api/services. While they load the select says so
 * but stays focusable (the dialog opens on it, its first field); a failure shows the problem with a
 * retry; no services at all says how to add one. The hint names the chosen service's traffic provider.
 */
export function ServiceSelect({ value, onChange, error }: { value: string; onChange: (name: string) => void; error?: string }) {
  const services = useQuery(servicesQueryOptions());
  const { service, provider } = useServiceProvider(value);
  const items = services.data?.items ?? [];
  if (services.error) {
    return <ErrorState error={services.error} title="Could not load the services" onRetry={() => void services.refetch()} compact />;
  }
  const none = services.isSuccess && items.length === 0;
  const hint = none ? "No services are registered yet: register one on the Rollouts page (Register service) first." : providerHint(service, provider);
  return (
    <FormField label="Service" error={error} hint={hint}>
      {(p) => (
        <NativeSelect {...p} value={value} onChange={(e) => onChange(e.target.value)} disabled={none} aria-busy={services.isPending || undefined} required>
          <option value="">{services.isPending ? "Loading services…" : none ? "No services yet" : "Choose a service…"}</option>
          {items.map((s) => (
            <option key={s.id} value={s.name}>
              {s.name} ({s.env}){s.rolloutId ? " · rollout in progress" : ""}
            </option>
          ))}
        </NativeSelect>
      )}
    </FormField>
  );
}
