import { useLocation } from "react-router";
import { EnvNavLink } from "@/components/env-link";
import { cn } from "@/lib/utils";
import { usePermissions } from "@/features/auth/session";
import { visibleSections } from "./nav";

export function SideNav() {
  const sections = visibleSections(usePermissions());
  const { pathname } = useLocation();
  return (
    <nav aria-label="Main" className="flex flex-col gap-6 p-3">
      {sections.map((section) => (
        <div key={section.id} className="grid gap-1">
          <h2 className="px-2 text-xs font-semibold tracking-wide text-muted-foreground uppercase">{section.label}</h2>
          <ul className="grid gap-0.5">
            {section.items.map((item) => {
              // Another entry owns this part of the path (e.g. /policies/decisions under /policies).
              const elsewhere = item.notUnder?.some((p) => pathname === p || pathname.startsWith(`${p}/`)) ?? false;
              return (
                <li key={item.to}>
                  <EnvNavLink
                    to={item.to}
                    end={item.end}
                    {...(elsewhere ? { "aria-current": false } : {})}
                    className={({ isActive }) =>
                      cn(
                        "flex items-center gap-2 rounded-md px-2 py-1.5 text-sm font-medium outline-none hover:bg-accent hover:text-accent-foreground focus-visible:ring-2 focus-visible:ring-ring",
                        isActive && !elsewhere && "bg-accent text-accent-foreground",
                      )
                    }
                  >
                    <item.icon className="size-4" aria-hidden="true" />
                    {item.label}
                  </EnvNavLink>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </nav>
  );
}
