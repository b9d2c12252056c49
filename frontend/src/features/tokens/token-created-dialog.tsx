import { AlertTriangleIcon } from "lucide-react";
import { useId } from "react";
import { CopyButton } from "@/components/copy-button";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";

export interface CreatedToken {
  name: string;
  secret: string;
}

/**
 * Shows a new token's secret exactly once. The parent holds the secret only until this dialog
 * closes (onClose drops it), and the API never returns it again.
 */
export function TokenCreatedDialog({ created, onClose }: { created: CreatedToken | null; onClose: () => void }) {
  const secretId = useId();
  return (
    <Dialog
      open={created !== null}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
    >
      {created ? (
        <DialogContent onInteractOutside={(e) => e.preventDefault()}>
          <DialogHeader>
            <DialogTitle>Token “{created.name}” created</DialogTitle>
            <DialogDescription>Use it as a Bearer token: Authorization: Bearer &lt;secret&gt;.</DialogDescription>
          </DialogHeader>
          <div
            role="note"
            className="flex gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-50"
          >
            <AlertTriangleIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
            <p>
              <strong>Copy the secret now.</strong> This is the only time it is shown: Maestro stores only a hash of
              it. If you lose it, revoke this token and create a new one.
            </p>
          </div>
          <div className="grid gap-2">
            <Label htmlFor={secretId}>Secret</Label>
            <div className="flex gap-2">
              <Input
                id={secretId}
                readOnly
                value={created.secret}
                className="font-mono text-xs"
                onFocus={(e) => e.currentTarget.select()}
                data-testid="token-secret"
              />
              <CopyButton value={created.secret} label="Copy secret" />
            </div>
          </div>
          <DialogFooter>
            <Button onClick={onClose}>I have stored the secret</Button>
          </DialogFooter>
        </DialogContent>
      ) : null}
    </Dialog>
  );
}
