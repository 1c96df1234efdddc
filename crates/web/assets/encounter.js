// Carevault — the encounter pages' small script (served from /assets, CSP script-src 'self').
// Progressive enhancement only: every page works without it.
//
// - ICD-10 type-ahead on each diagnosis row's code field: typing a code or words asks
//   GET /api/v1/icd10 (the session cookie reads it) and lists the matches as a listbox
//   (arrows, Enter, Escape, click); a match fills the row's code and title.
// - "Look up" lists the matches without leaving the page; each "Use …" fills the first empty
//   row (the same buttons submit the form when the script does not run).
// - A form with unsaved changes asks before the page is left, unless that form is submitted.
// - A prescription warning box gets the focus when the page opens.
(function () {
  'use strict';

  var SEARCH = '/api/v1/icd10';
  var DELAY_MS = 200;

  function searchCodes(query, limit) {
    var url = SEARCH + '?q=' + encodeURIComponent(query) + '&limit=' + limit;
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) { return []; }
        return response.json().then(function (body) { return body.items || []; });
      })
      .catch(function () { return []; });
  }

  function markDirty(form) {
    if (form) { form.dataset.dirty = 'true'; }
  }

  // ---- a diagnosis row -------------------------------------------------------------------

  function rowParts(row) {
    return {
      code: row.querySelector('[data-icd10-input]'),
      title: row.querySelector('[data-icd10-title]'),
      text: row.querySelector('input[name$="_text"]'),
      free: row.querySelector('input[name$="_free"]')
    };
  }

  function fillRow(row, item) {
    var parts = rowParts(row);
    parts.code.value = item.code;
    if (parts.title) { parts.title.textContent = item.title; }
    if (parts.free) { parts.free.checked = false; }
    markDirty(parts.code.form);
  }

  // ---- type-ahead ------------------------------------------------------------------------

  function setupCombobox(input) {
    var row = input.closest('.dx-row');
    var listbox = document.createElement('ul');
    listbox.id = input.id + '-listbox';
    listbox.className = 'icd10-listbox';
    listbox.setAttribute('role', 'listbox');
    listbox.setAttribute('aria-label', 'Matching ICD-10 codes');
    listbox.hidden = true;
    input.parentNode.appendChild(listbox);
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', listbox.id);

    var timer = null;
    var asked = 0;
    var items = [];
    var active = -1;

    function close() {
      listbox.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    }

    function highlight(index) {
      var options = listbox.querySelectorAll('[role="option"]');
      if (!options.length) { return; }
      active = (index + options.length) % options.length;
      for (var k = 0; k < options.length; k += 1) {
        options[k].setAttribute('aria-selected', k === active ? 'true' : 'false');
      }
      input.setAttribute('aria-activedescendant', options[active].id);
      options[active].scrollIntoView({ block: 'nearest' });
    }

    function choose(item) {
      fillRow(row, item);
      close();
    }

    function show(list) {
      items = list;
      listbox.textContent = '';
      if (!list.length) { close(); return; }
      list.forEach(function (item, k) {
        var option = document.createElement('li');
        option.id = listbox.id + '-' + k;
        option.setAttribute('role', 'option');
        option.setAttribute('aria-selected', 'false');
        option.dataset.code = item.code;
        var code = document.createElement('strong');
        code.textContent = item.code;
        option.appendChild(code);
        option.appendChild(document.createTextNode(' — ' + item.title));
        // Keep the focus in the field while the mouse picks an option.
        option.addEventListener('mousedown', function (event) { event.preventDefault(); });
        option.addEventListener('click', function () { choose(item); input.focus(); });
        listbox.appendChild(option);
      });
      active = -1;
      listbox.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    }

    input.addEventListener('input', function () {
      var parts = rowParts(row);
      if (parts.title) { parts.title.textContent = ''; }
      clearTimeout(timer);
      var query = input.value.trim();
      if (query.length < 2) { close(); return; }
      asked += 1;
      var mine = asked;
      timer = setTimeout(function () {
        searchCodes(query, 10).then(function (list) {
          if (mine === asked) { show(list); }
        });
      }, DELAY_MS);
    });

    input.addEventListener('keydown', function (event) {
      var open = !listbox.hidden;
      if (event.key === 'ArrowDown') {
        if (open) { highlight(active + 1); event.preventDefault(); }
      } else if (event.key === 'ArrowUp') {
        if (open) { highlight(active - 1); event.preventDefault(); }
      } else if (event.key === 'Enter') {
        // Enter in a code field picks a match; it never submits the form.
        event.preventDefault();
        if (open && active >= 0) {
          choose(items[active]);
        } else if (open && items.length === 1) {
          choose(items[0]);
        }
      } else if (event.key === 'Escape') {
        if (open) { close(); event.preventDefault(); }
      }
    });

    input.addEventListener('blur', function () { setTimeout(close, 150); });
  }

  // ---- the lookup ------------------------------------------------------------------------

  function emptyRow(fieldset) {
    var rows = fieldset.querySelectorAll('.dx-row');
    for (var k = 0; k < rows.length; k += 1) {
      var parts = rowParts(rows[k]);
      if (!parts.code.value.trim() && !(parts.text && parts.text.value.trim())) {
        return rows[k];
      }
    }
    return null;
  }

  // Puts a code into the first empty row; with none empty, the form is sent with "Use …"
  // (the server adds a row and keeps everything typed).
  function useCode(fieldset, item, fallbackButton) {
    var row = emptyRow(fieldset);
    if (row) {
      fillRow(row, item);
      rowParts(row).code.focus();
      return true;
    }
    if (fallbackButton) {
      fallbackButton.closest('form').dataset.submitting = 'true';
      return false;
    }
    return false;
  }

  function setupLookup(box) {
    var fieldset = box.closest('.diagnosis-rows');
    var query = box.querySelector('[data-icd10-query]');
    var button = box.querySelector('[data-icd10-lookup-button]');
    var results = box.querySelector('[data-icd10-results]');
    if (!fieldset || !query || !button || !results) { return; }
    results.setAttribute('aria-live', 'polite');

    function run() {
      var text = query.value.trim();
      results.textContent = '';
      if (!text) { return; }
      searchCodes(text, 25).then(function (list) {
        results.textContent = '';
        var note = document.createElement('p');
        if (!list.length) {
          note.className = 'muted';
          note.textContent = 'No code matches “' + text + '”.';
          results.appendChild(note);
          return;
        }
        note.className = 'hint';
        note.textContent = 'Each result puts its code into the first empty diagnosis row:';
        results.appendChild(note);
        var choices = document.createElement('ul');
        choices.className = 'icd10-choices';
        list.forEach(function (item) {
          var entry = document.createElement('li');
          var choice = document.createElement('button');
          choice.type = 'submit';
          choice.name = 'action';
          choice.value = 'use:' + item.code;
          choice.className = 'choice';
          choice.dataset.code = item.code;
          choice.dataset.title = item.title;
          choice.setAttribute('formaction', button.getAttribute('formaction'));
          choice.textContent = 'Use ' + item.code + ' — ' + item.title;
          entry.appendChild(choice);
          choices.appendChild(entry);
        });
        results.appendChild(choices);
      });
    }

    button.addEventListener('click', function (event) { event.preventDefault(); run(); });
    query.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') { event.preventDefault(); run(); }
    });
    // "Use …" (listed here or by the server): fill a row in place when one is empty.
    results.addEventListener('click', function (event) {
      var choice = event.target.closest('button[value^="use:"]');
      if (!choice) { return; }
      var item = { code: choice.dataset.code, title: choice.dataset.title || '' };
      if (item.code && useCode(fieldset, item, choice)) { event.preventDefault(); }
    });
  }

  // ---- unsaved changes -------------------------------------------------------------------

  function setupGuard(form) {
    if (form.dataset.unsaved === 'true') { markDirty(form); }
    form.addEventListener('input', function () { markDirty(form); });
    form.addEventListener('change', function () { markDirty(form); });
    form.addEventListener('submit', function () { form.dataset.submitting = 'true'; });
  }

  window.addEventListener('beforeunload', function (event) {
    var forms = document.querySelectorAll('form[data-unsaved-guard]');
    for (var k = 0; k < forms.length; k += 1) {
      var form = forms[k];
      if (form.dataset.dirty === 'true' && form.dataset.submitting !== 'true') {
        event.preventDefault();
        event.returnValue = '';
        return '';
      }
    }
    return undefined;
  });

  // ---- start -----------------------------------------------------------------------------

  function start() {
    document.querySelectorAll('[data-icd10-input]').forEach(setupCombobox);
    document.querySelectorAll('[data-icd10-lookup]').forEach(setupLookup);
    document.querySelectorAll('form[data-unsaved-guard]').forEach(setupGuard);
    var warning = document.getElementById('prescription-warnings');
    if (warning) {
      warning.focus();
      warning.scrollIntoView({ block: 'start' });
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
