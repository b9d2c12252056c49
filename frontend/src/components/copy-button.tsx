import { CheckIcon, CopyIcon } from "lucide-react";
import { useState } from "react";
import { Button, type ButtonProps } from "@/components/ui/button";
import { toast } from "@/lib/toast";

export function CopyButton({ value, label = "Copy", ...props }: { value: string; label?: string } & ButtonProps) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      toast({
        title: "Could not copy",
        description: "The browser refused clipboard access: select the text and copy it by hand.",
        variant: "destructive",
      });
    }
  }
  return (
    <Button variant="outline" onClick={copy} {...props}>
      {copied ? <CheckIcon aria-hidden="true" /> : <CopyIcon aria-hidden="true" />}
      {copied ? "Copied" : label}
    </Button>
  );
}
