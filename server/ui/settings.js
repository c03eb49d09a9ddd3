// The owner's controls on the detail page: edit owner team and purpose,
// deletion protection, resize and password rotation. Each optional one
// appears only where the server has it (the record carries the field, or
// the OpenAPI document lists it) and hides itself, with a note, if the
// server answers that it does not. Every control is disabled, with the
// reason shown, when the caller's team may not act.
import { api, capabilities, dropCapability } from './api.js';
import { h, replace, toast } from './dom.js';
import { field, errorSummary, showProblem, clearErrors, checkboxField } from './forms.js';
import { confirmDialog } from './dialogs.js';
import { permission } from './team.js';

const unsupported = (feature, text) => h('p', { class: 'hint', 'data-feature': feature, 'data-state': 'unsupported', text });

function fieldRefused(err, name) {
  return err.status === 400 && err.fields.some((f) => f.field === name && (f.code === 'unknown_field' || f.code === 'immutable'));
}

function editForm(ctx) {
  const team = h('input', { autocomplete: 'off', spellcheck: 'false' });
  const purpose = h('textarea', { rows: '2', maxlength: '500' });
  const save = h('button', { type: 'submit', class: 'button primary', text: 'Save changes' });
  const form = h('form', { class: 'edit-form', novalidate: true, 'data-feature': 'edit' },
    h('h3', { text: 'Owner and purpose' }), errorSummary(),
    field('owner_team', 'Owner team', team, 'Handing it to another team means you can no longer change it.'),
    field('purpose', 'Purpose', purpose), h('div', { class: 'actions' }, save));
  let dirty = false;
  form.addEventListener('input', () => { dirty = true; });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const patch = {};
    if (team.value.trim() !== ctx.db.owner_team) patch.owner_team = team.value.trim();
    if (purpose.value.trim() !== ctx.db.purpose) patch.purpose = purpose.value.trim();
    if (!Object.keys(patch).length) { toast('Nothing to save.'); return; }
    save.disabled = true;
    clearErrors(form);
    try {
      const db = await api.update(ctx.db.id, patch);
      dirty = false;
      ctx.show(db);
      toast('Saved.');
    } catch (err) {
      showProblem(form, err);
    } finally {
      save.disabled = !permission(ctx.db).allowed;
    }
  });
  return {
    el: form,
    update(db, allowed) {
      if (!dirty) { team.value = db.owner_team; purpose.value = db.purpose; }
      for (const el of [team, purpose, save]) el.disabled = !allowed;
    },
  };
}

function protectionControl(ctx) {
  const box = h('input', {});
  const wrap = checkboxField('deletion_protection', 'Deletion protection: refuse DELETE until it is turned off', box);
  const el = h('div', { 'data-feature': 'deletion-protection', 'data-state': 'ready' }, h('h3', { text: 'Deletion protection' }), wrap);
  // Turning protection off is what makes a delete possible again, so it is
  // asked for; turning it on is safe and happens at once.
  const confirmOff = () => confirmDialog({
    title: `Turn off deletion protection of ${ctx.db.name}?`,
    body: 'Anyone in the owner team can then delete the database and all its data.',
    confirmLabel: 'Turn off protection',
    danger: true,
  });
  box.addEventListener('change', async () => {
    const want = box.checked;
    if (!want) {
      // The box shows the server's state until the owner confirms: a Cancel
      // then changes nothing, even for a moment.
      box.checked = true;
      if (!(await confirmOff())) return;
      box.checked = false;
    }
    box.disabled = true;
    try {
      ctx.show(await api.update(ctx.db.id, { deletion_protection: want }));
      toast(want ? 'Deletion protection is on.' : 'Deletion protection is off.');
    } catch (err) {
      box.checked = !want;
      if (fieldRefused(err, 'deletion_protection')) el.replaceWith(unsupported('deletion-protection', 'Deletion protection is not available on this daap-server.'));
      else toast(`Not changed: ${err.message}`);
    } finally {
      box.disabled = !permission(ctx.db).allowed;
    }
  });
  return {
    el,
    update(db, allowed) { box.checked = Boolean(db.deletion_protection); box.disabled = !allowed; },
  };
}

function resizeForm(ctx, caps) {
  const has = (f) => caps.updateFields.has(f);
  const instances = has('instances') ? h('input', { type: 'number', min: '1', step: '1', inputmode: 'numeric' }) : null;
  const storage = has('storage_size') ? h('input', { autocomplete: 'off', spellcheck: 'false' }) : null;
  const apply = h('button', { type: 'submit', class: 'button secondary', text: 'Resize' });
  const form = h('form', { class: 'resize-form', novalidate: true, 'data-feature': 'resize', 'data-state': 'ready' },
    h('h3', { text: 'Resize' }), errorSummary(),
    instances ? field('instances', 'Instances', instances) : null,
    storage ? field('storage_size', 'Storage per instance', storage, 'Storage can only grow.') : null,
    h('p', { class: 'hint', text: 'One change at a time; the database stays ready while it rolls out.' }),
    h('div', { class: 'actions' }, apply));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const patch = {};
    if (instances && Number(instances.value) !== ctx.db.instances) patch.instances = Number(instances.value);
    if (storage && storage.value.trim() !== ctx.db.storage_size) patch.storage_size = storage.value.trim();
    const keys = Object.keys(patch);
    if (keys.length !== 1) { toast(keys.length ? 'Change one thing at a time.' : 'Nothing to change.'); return; }
    const ok = await confirmDialog({
      title: `Resize ${ctx.db.name}?`,
      body: patch.storage_size
        ? `Storage grows from ${ctx.db.storage_size} to ${patch.storage_size} per instance. It cannot shrink again.`
        : `Instances change from ${ctx.db.instances} to ${patch.instances}.`,
      confirmLabel: 'Resize',
    });
    if (!ok) return;
    clearErrors(form);
    try {
      ctx.show(await api.update(ctx.db.id, patch));
      toast('Resize requested; the status says when it is rolled out.');
    } catch (err) {
      if (fieldRefused(err, keys[0])) {
        await dropCapability('updateFields', keys[0]);
        form.replaceWith(unsupported('resize', 'Resizing is not available on this daap-server.'));
      } else {
        showProblem(form, err);
      }
    }
  });
  return {
    el: form,
    update(db, allowed) {
      if (instances && document.activeElement !== instances) instances.value = db.instances;
      if (storage && document.activeElement !== storage) storage.value = db.storage_size;
      for (const el of [instances, storage, apply]) if (el) el.disabled = !allowed;
    },
  };
}

const ROTATING = 'rotating password: ';
const isRotating = (db) => (db.status_reason || '').startsWith(ROTATING);

// A rotation (docs/day2.md) is done only once a login with the new password
// works through the pooler; until then the record keeps the old one. The
// page follows the record live, so the progress line below the button shows
// the server's status_reason, then whether the password changed.
function rotateControl(ctx) {
  const button = h('button', { type: 'button', class: 'button secondary', text: 'Rotate password' });
  const why = h('p', { class: 'hint', text: 'A new random password. The old one keeps working until a login with the new one succeeds; open sessions stay connected.' });
  const progress = h('p', { class: 'reason', role: 'status', 'aria-live': 'polite', 'data-rotation': 'idle', hidden: true });
  const el = h('div', { 'data-feature': 'rotate', 'data-state': 'ready' }, h('h3', { text: 'Password' }), why, button, progress);
  let before = null; // the password when this page asked for a rotation
  let startedAt = 0; // the revision the rotation began with: only later records end it
  const say = (state, text) => { progress.hidden = false; progress.dataset.rotation = state; progress.textContent = text; };
  button.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Rotate the password of ${ctx.db.name}?`,
      body: 'Once the new password is verified, applications that use the old one will fail to connect until they get the new one.',
      confirmLabel: 'Rotate password',
      danger: true,
    });
    if (!ok) return;
    button.disabled = true;
    const was = ctx.db.connection?.password ?? null;
    try {
      const started = await api.rotatePassword(ctx.db.id);
      before = was;
      startedAt = started.revision;
      ctx.show(await api.get(ctx.db.id)); // the answer has no credentials; the record does
      toast('Rotation started; the old password works until the new one is verified.');
    } catch (err) {
      before = null;
      if (err.isMissingEndpoint) {
        await dropCapability('rotate');
        el.replaceWith(unsupported('rotate', 'Password rotation is not available on this daap-server.'));
      } else {
        toast(`Not rotated: ${err.message}`);
      }
    } finally {
      button.disabled = !(permission(ctx.db).allowed && ctx.db.status === 'ready' && !isRotating(ctx.db));
    }
  });
  return {
    el,
    update(db, allowed) {
      const rotating = isRotating(db);
      button.disabled = !allowed || db.status !== 'ready' || rotating;
      if (rotating) {
        say('rotating', `Rotating: ${db.status_reason.slice(ROTATING.length)}`);
      } else if (before !== null && db.connection && db.revision > startedAt) {
        if (db.connection.password !== before) say('rotated', 'Rotated: the connection details below carry the new password.');
        else say('failed', 'Not rotated: the old password still works. The events say why.');
        before = null;
      }
    },
  };
}

/**
 * The settings card. ctx = {db, show(db)}: show renders a new record.
 * Returns {el, update(db)}.
 */
export function settingsCard(ctx) {
  const reason = h('p', { class: 'reason', id: 'settings-reason', hidden: true });
  const parts = [];
  const body = h('div', { class: 'settings-body' });
  const el = h('section', { class: 'card settings', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title', text: 'Settings' }), reason, body);
  let built = false;

  function build(caps) {
    parts.push(editForm(ctx));
    parts.push(protectionPart(ctx.db));
    if (caps.updateFields.has('instances') || caps.updateFields.has('storage_size')) parts.push(resizeForm(ctx, caps));
    else parts.push({ el: unsupported('resize', 'Resizing is not available on this daap-server.'), update() {} });
    if (caps.rotate) parts.push(rotateControl(ctx));
    else parts.push({ el: unsupported('rotate', 'Password rotation is not available on this daap-server.'), update() {} });
    replace(body, parts.map((p) => p.el));
    built = true;
  }

  // The toggle exists when the record has the field; a record seen earlier
  // (from a list, before an upgrade) may not, so look again on each update.
  function protectionPart(db) {
    if (typeof db.deletion_protection === 'boolean') return protectionControl(ctx);
    return { placeholder: true, el: unsupported('deletion-protection', 'Deletion protection is not available on this daap-server.'), update() {} };
  }

  function update(db) {
    if (parts[1].placeholder && typeof db.deletion_protection === 'boolean') {
      const real = protectionPart(db);
      parts[1].el.replaceWith(real.el);
      parts[1] = real;
    }
    const p = permission(db);
    reason.textContent = p.reason;
    reason.hidden = p.allowed;
    for (const part of parts) part.update(db, p.allowed);
    for (const ctl of el.querySelectorAll('input, textarea, button')) {
      const ids = (ctl.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== 'settings-reason');
      if (!p.allowed) ids.push('settings-reason');
      if (ids.length) ctl.setAttribute('aria-describedby', ids.join(' '));
      else ctl.removeAttribute('aria-describedby');
    }
  }

  capabilities().then((caps) => { build(caps); update(ctx.db); });
  return { el, update: (db) => { if (built) update(db); } };
}
