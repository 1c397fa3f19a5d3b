import { currentPath } from "./router";
import { isActive, navItems } from "./routes";

export function Nav() {
  const path = currentPath.value;
  return (
    <nav class="nav" aria-label="Pages">
      <ul>
        {navItems.map((item) => (
          <li key={item.path}>
            <a href={item.path} class={isActive(item, path) ? "active" : undefined} aria-current={isActive(item, path) ? "page" : undefined}>
              {item.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
