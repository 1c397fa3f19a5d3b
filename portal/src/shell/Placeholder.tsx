export function Placeholder({ label }: { label: string }) {
  return (
    <section class="page">
      <h1>{label}</h1>
      <p class="muted">This page is not built yet.</p>
    </section>
  );
}

export function NotFound() {
  return (
    <section class="page">
      <h1>Not found</h1>
      <p class="muted">
        No page has this address. <a href="/">Overview</a>
      </p>
    </section>
  );
}
