// The console's entry point: the team control, the health banner and the
// router that swaps pages in <main>. Each page returns its cleanup (stops
// its timers and waits) for when another page replaces it.
import { currentRoute } from './router.js';
import { getTeam, setTeam, onTeamChange } from './team.js';
import { watchHealth } from './health.js';
import { toast } from './dom.js';
import { listPage } from './page-list.js';
import { createPage } from './page-create.js';
import { detailPage } from './page-detail.js';

const main = document.getElementById('main');
let cleanup = () => {};

const TITLES = { list: 'Databases', new: 'New database', db: 'Database' };

function render() {
  cleanup();
  const route = currentRoute();
  document.title = `${TITLES[route.page]} · daap console`;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === route.page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.dataset.page = route.page;
  delete main.dataset.status;
  if (route.page === 'new') cleanup = createPage(main);
  else if (route.page === 'db') cleanup = detailPage(main, route.id, route.params);
  else cleanup = listPage(main, route.params);
  // Move focus to the new page's heading, as a page load would (screen readers announce it).
  requestAnimationFrame(() => (main.querySelector('h1') || main).focus({ preventScroll: false }));
}

function teamControl() {
  const form = document.getElementById('team-form');
  const input = document.getElementById('team-input');
  input.value = getTeam();
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setTeam(input.value);
    toast(getTeam() ? `Acting as team ${getTeam()}.` : 'No team chosen: the console is read-only.');
  });
  onTeamChange((team) => { input.value = team; document.body.dataset.team = team ? 'set' : 'unset'; });
  document.body.dataset.team = getTeam() ? 'set' : 'unset';
}

teamControl();
watchHealth(document.getElementById('banner'));
window.addEventListener('hashchange', render);
render();
