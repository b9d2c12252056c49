import { Link, NavLink, type LinkProps, type NavLinkProps } from "react-router";
import { useEnvHref } from "@/lib/env";

/** A Link that keeps `?env=`. Use it for every in-app link. */
export function EnvLink({ to, ...props }: Omit<LinkProps, "to"> & { to: string }) {
  const href = useEnvHref();
  return <Link to={href(to)} {...props} />;
}

export function EnvNavLink({ to, ...props }: Omit<NavLinkProps, "to"> & { to: string }) {
  const href = useEnvHref();
  return <NavLink to={href(to)} {...props} />;
}
