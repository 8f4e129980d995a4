// The demo shop's own behaviour. Kept out of inline handlers: a replay runs in a sandboxed
// frame where inline handlers would be reported as blocked scripts.
(() => {
  const $ = (id) => document.getElementById(id);
  const add = $('add');
  if (add) add.addEventListener('click', () => {
    if (window.veilgate) veilgate.track('add_to_cart', { qty: Number($('qty').value) || 1 });
    location.href = '/demo/checkout.html';
  });
  const form = $('f');
  if (form) form.addEventListener('submit', (e) => {
    e.preventDefault();
    $('done').textContent = location.pathname.includes('checkout') ? 'Order placed' : 'Thanks!';
  });
})();
