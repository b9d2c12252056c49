import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { routingClassesDowngradeMutation, routingPinMutation, routingUnpinMutation } from "@/client/@tanstack/react-query.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { FormField } from "@/components/form-field";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Switch } from "@/components/ui/switch";
import { toast } from "@/lib/toast";
import { candidateKey, formatSeconds, type RoutingClass } from "./model";
import { invalidateClasses } from "./queries";

/** Pin lifetimes offered (seconds; 0: until unpinned). The API takes up to 90 days. */
const PIN_TTLS = [
  { value: 900, label: "15 minutes" },
  { value: 3600, label: "1 hour" },
  { value: 4 * 3600, label: "4 hours" },
  { value: 86400, label: "1 day" },
  { value: 7 * 86400, label: "7 days" },
  { value: 0, label: "Until unpinned" },
] as const;

/**
 * Pins the class to one of its candidates for a while, with a reason (audited). Failover still
 * applies when the pinned candidate fails. Mount it with a new `key` for each opening.
 */
export function PinDialog({ cls, open, onOpenChange }: { cls: RoutingClass; open: boolean; onOpenChange: (open: boolean) => void }) {
  const queryClient = useQueryClient();
  const keys = cls.candidates.map(candidateKey);
  const [target, setTarget] = useState(cls.pin ? candidateKey(cls.pin) : keys[0] ?? "");
  const [ttl, setTtl] = useState<number>(3600);
  const pin = useMutation({ ...routingPinMutation(), onSettled: () => invalidateClasses(queryClient) });
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={onOpenChange}
      title={`Pin ${cls.name} to a candidate`}
      description="Every request of the class goes to this candidate until the pin expires or is removed; when it fails, requests still fail over to the others."
      confirmLabel="Pin"
      requireReason
      reasonHint="Recorded with the pin and in the audit log, e.g. “evaluating the new model”."
      onConfirm={async (reason) => {
        const c = cls.candidates.find((x) => candidateKey(x) === target);
        if (!c) throw new Error("Choose one of the class's candidates.");
        await pin.mutateAsync({
          body: { class: cls.name, provider: c.provider, model: c.model, reason, ...(ttl ? { ttl } : { ttl: null }) },
        });
        toast({
          title: "Class pinned",
          description: `${cls.name} → ${target} ${ttl ? `for ${formatSeconds(ttl)}` : "until unpinned"}; gateways follow within their refresh interval.`,
          variant: "success",
        });
      }}
    >
      <FormField label="Candidate">
        {(p) => (
          <NativeSelect {...p} value={target} onChange={(e) => setTarget(e.target.value)}>
            {keys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </NativeSelect>
        )}
      </FormField>
      <FormField label="For how long">
        {(p) => (
          <NativeSelect {...p} value={String(ttl)} onChange={(e) => setTtl(Number(e.target.value))}>
            {PIN_TTLS.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </NativeSelect>
        )}
      </FormField>
    </ConfirmDialog>
  );
}

export function UnpinDialog({ cls, open, onOpenChange }: { cls: RoutingClass; open: boolean; onOpenChange: (open: boolean) => void }) {
  const queryClient = useQueryClient();
  const unpin = useMutation({ ...routingUnpinMutation(), onSettled: () => invalidateClasses(queryClient) });
  const pinned = cls.pin ? candidateKey(cls.pin) : "";
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={onOpenChange}
      title={`Unpin ${cls.name}?`}
      description={`Requests stop going to ${pinned} by default and follow the best score again (or the downgrade path, while the class is downgraded).`}
      confirmLabel="Unpin"
      onConfirm={async () => {
        await unpin.mutateAsync({ path: { route_class: cls.name } });
        toast({ title: "Class unpinned", description: `${cls.name} routes by score again.`, variant: "success" });
      }}
    />
  );
}

/**
 * The class's downgrade switch (the budget hook): on, requests take the class's downgrade path
 * (`downgradeTo`) instead of the best score. Each change is confirmed with a reason (audited).
 */
export function DowngradeSwitch({ cls, mayWrite }: { cls: RoutingClass; mayWrite: boolean }) {
  const queryClient = useQueryClient();
  const id = useId();
  const [asking, setAsking] = useState<boolean | null>(null);
  const downgrade = useMutation({ ...routingClassesDowngradeMutation(), onSettled: () => invalidateClasses(queryClient) });
  const path = cls.downgradeTo;
  const disabled = !mayWrite || (!path && !cls.downgraded) || downgrade.isPending;
  return (
    <div className="grid gap-2">
      <div className="flex items-center gap-3">
        <Switch
          id={id}
          checked={cls.downgraded}
          disabled={disabled}
          aria-describedby={`${id}-hint`}
          onCheckedChange={(on) => setAsking(on)}
          data-testid="downgrade-switch"
        />
        <Label htmlFor={id}>Downgrade{path ? ` to ${path}` : ""}</Label>
      </div>
      <p id={`${id}-hint`} className="text-sm text-muted-foreground">
        {cls.downgraded
          ? `On${cls.downgradeReason ? ` (${cls.downgradeReason})` : ""}: requests take ${path} unless the class is pinned to a candidate that can serve.`
          : path
            ? `Off: requests follow the score. On sends them to ${path}, the class's cheaper path (budgets flip this switch too).`
            : "This class has no downgrade path: edit the class and choose one to use this switch."}
      </p>
      <ConfirmDialog
        open={asking !== null}
        onOpenChange={(o) => !o && setAsking(null)}
        title={asking ? `Downgrade ${cls.name}?` : `Switch off the downgrade of ${cls.name}?`}
        description={
          asking
            ? `Requests of ${cls.name} go to ${path} (unless a working pin says otherwise) until the switch is turned off.`
            : `Requests of ${cls.name} follow the best score again.`
        }
        confirmLabel={asking ? "Downgrade" : "Switch off the downgrade"}
        destructive={Boolean(asking)}
        requireReason
        onConfirm={async (reason) => {
          const on = Boolean(asking);
          await downgrade.mutateAsync({ path: { name: cls.name }, body: { downgraded: on, reason } });
          toast({
            title: on ? "Class downgraded" : "Downgrade switched off",
            description: on ? `${cls.name} → ${path}` : `${cls.name} follows the best score again.`,
            variant: "success",
          });
        }}
      />
    </div>
  );
}
