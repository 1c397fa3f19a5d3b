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
