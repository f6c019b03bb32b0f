import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../src/kernel/clock.ts';
import {
  checkDocument,
  type DocumentCheckResult,
  type VisualData,
} from '../src/verification/documents/index.ts';
import {
  buildMrz,
  CHECK_DIGIT_POSITIONS,
  checkDigit,
  dateFrom,
  recomputeComposite,
  replaceChar,
  SPECIMEN_CLOCK_DATE,
  SPECIMENS,
  visualFor,
  withWrongCheckDigit,
  type CheckDigitName,
  type MrzFormat,
  type MrzSpec,
} from './support/mrz-fixtures.ts';

const NOW = new Date('2026-03-10T09:30:00Z');
const clock = new ManualClock(NOW);
const FORMATS: MrzFormat[] = ['TD1', 'TD2', 'TD3'];

function personFor(format: MrzFormat): MrzSpec {
  return {
    format,
    documentCode: format === 'TD3' ? 'P' : 'I',
    issuingState: 'NLD',
    surname: 'DE VRIES',
    givenNames: 'JAN PIETER',
    documentNumber: 'SPECI2014',
    nationality: 'NLD',
    dateOfBirth: '1985-03-14',
    sex: 'M',
    dateOfExpiry: dateFrom(clock, { years: 4, days: 17 }),
    optionalData: format === 'TD3' ? '999999990' : '',
  };
}

function rejected(result: DocumentCheckResult) {
  assert.equal(result.ok, false, `expected a rejection, got ${JSON.stringify(result)}`);
  return result as Extract<DocumentCheckResult, { ok: false }>;
}

function accepted(result: DocumentCheckResult) {
  assert.equal(result.ok, true, `expected acceptance, got ${JSON.stringify(result)}`);
  return result as Extract<DocumentCheckResult, { ok: true }>;
}

describe('MRZ: the ICAO 9303 specimens', () => {
  const before = new ManualClock(SPECIMEN_CLOCK_DATE);

  for (const [format, specimen] of Object.entries(SPECIMENS)) {
    it(`accepts the ${format} specimen before its expiry, with every field read`, () => {
      const { document, checks } = accepted(
        checkDocument({ mrz: specimen.lines, visual: specimen.visual }, before, { allowSpecimens: true, txn: 'txn-1' }),
      );
      assert.deepEqual(document, {
        documentType: specimen.documentType,
        documentNumber: specimen.visual.documentNumber,
        issuingCountry: 'UTO',
        givenNames: 'ANNA MARIA',
        surname: 'ERIKSSON',
        dateOfBirth: '1974-08-12',
        nationality: 'UTO',
        dateOfIssue: undefined,
        dateOfExpiry: '2012-04-15',
        sex: 'F',
      });
      assert.deepEqual(checks, [
        { check_method: 'vri', organization: 'idflow', txn: 'txn-1', time: SPECIMEN_CLOCK_DATE.toISOString() },
      ]);
    });

    it(`refuses the ${format} specimen unless specimens are allowed (its state, Utopia, does not exist)`, () => {
      const result = rejected(checkDocument({ mrz: specimen.lines }, before));
      assert.deepEqual(result.reasons, ['document_unreadable']);
      assert.deepEqual(result.fields.sort(), ['issuingCountry', 'nationality']);
    });

    it(`reports the ${format} specimen expired the day after 15 April 2012`, () => {
      const onExpiry = new ManualClock(new Date('2012-04-15T23:59:59Z'));
      accepted(checkDocument({ mrz: specimen.lines }, onExpiry, { allowSpecimens: true }));
      const dayAfter = new ManualClock(new Date('2012-04-16T00:00:00Z'));
      const result = rejected(checkDocument({ mrz: specimen.lines }, dayAfter, { allowSpecimens: true }));
      assert.deepEqual(result.reasons, ['document_expired']);
      assert.deepEqual(result.fields, ['dateOfExpiry']);
    });
  }

  it('reads a TD1 document number longer than nine characters (the mrz package README example)', () => {
    const lines = ['I<UTOD23145890<1233<<<<<<<<<<<', '7408122F1204159UTO<<<<<<<<<<<2', 'ERIKSSON<<ANNA<MARIA<<<<<<<<<<'];
    const { document } = accepted(checkDocument({ mrz: lines }, before, { allowSpecimens: true }));
    assert.equal(document.documentNumber, 'D23145890123');
  });
});

describe('MRZ: generated documents of each format', () => {
  for (const format of FORMATS) {
    describe(format, () => {
      const spec = personFor(format);
      const lines = buildMrz(spec);

      it('is accepted with the document data mapped', () => {
        const { document } = accepted(checkDocument({ mrz: lines, visual: visualFor(spec) }, clock));
        assert.deepEqual(document, {
          documentType: format === 'TD3' ? 'passport' : 'idcard',
          documentNumber: 'SPECI2014',
          issuingCountry: 'NLD',
          givenNames: 'JAN PIETER',
          surname: 'DE VRIES',
          dateOfBirth: '1985-03-14',
          nationality: 'NLD',
          dateOfIssue: undefined,
          dateOfExpiry: spec.dateOfExpiry,
          sex: 'M',
        });
      });

      it('accepts the MRZ as one string with line breaks, or run together', () => {
        accepted(checkDocument({ mrz: `\r\n ${lines.join('\r\n')} \n` }, clock));
        accepted(checkDocument({ mrz: lines.join('') }, clock));
      });

      const digits = Object.keys(CHECK_DIGIT_POSITIONS[format]) as CheckDigitName[];
      for (const which of digits) {
        it(`reports a wrong ${which} check digit as mrz_check_digit`, () => {
          const alone = rejected(
            checkDocument({ mrz: withWrongCheckDigit(lines, format, which, { keepComposite: true }) }, clock),
          );
          assert.deepEqual(alone.reasons, ['mrz_check_digit']);
          assert.deepEqual(alone.fields, [which]);
          // Left as it is, the composite no longer adds up either: both are named.
          const both = rejected(checkDocument({ mrz: withWrongCheckDigit(lines, format, which) }, clock));
          assert.deepEqual(both.reasons, ['mrz_check_digit']);
          assert.deepEqual(both.fields, which === 'composite' ? ['composite'] : [which, 'composite']);
        });
      }

      it('reports one changed character in the document number as mrz_check_digit', () => {
        const [line, column] = CHECK_DIGIT_POSITIONS[format].documentNumber!;
        const tampered = replaceChar(lines, line, column - 1, '5'); // SPECI2014 → SPECI2015
        const result = rejected(checkDocument({ mrz: tampered }, clock));
        assert.deepEqual(result.reasons, ['mrz_check_digit']);
        assert.deepEqual(result.fields, ['documentNumber', 'composite']);
      });

      it('reports one changed digit of the birth date as mrz_check_digit', () => {
        const [line, column] = CHECK_DIGIT_POSITIONS[format].dateOfBirth!;
        const tampered = replaceChar(lines, line, column - 1, '5'); // 850314 → 850315
        const result = rejected(checkDocument({ mrz: tampered }, clock));
        assert.deepEqual(result.fields, ['dateOfBirth', 'composite']);
      });

      it('reports a changed expiry date — pushed further out by a year — as mrz_check_digit', () => {
        const [line, column] = CHECK_DIGIT_POSITIONS[format].dateOfExpiry!;
        const year = Number(lines[line]!.slice(column - 5, column - 4));
        const tampered = replaceChar(lines, line, column - 5, String((year + 1) % 10));
        const result = rejected(checkDocument({ mrz: tampered }, clock));
        assert.deepEqual(result.reasons, ['mrz_check_digit']);
        assert.deepEqual(result.fields, ['dateOfExpiry', 'composite']);
      });

      it('reports an expired document (expired yesterday; valid through its expiry day)', () => {
        const yesterday = { ...spec, dateOfExpiry: dateFrom(clock, { days: -1 }) };
        const result = rejected(checkDocument({ mrz: buildMrz(yesterday), visual: visualFor(yesterday) }, clock));
        assert.deepEqual(result.reasons, ['document_expired']);
        assert.deepEqual(result.fields, ['dateOfExpiry']);
        const today = { ...spec, dateOfExpiry: dateFrom(clock, {}) };
        accepted(checkDocument({ mrz: buildMrz(today), visual: visualFor(today) }, clock));
      });

      it('reports expiry and a visual mismatch together', () => {
        const old = { ...spec, dateOfExpiry: dateFrom(clock, { years: -3 }) };
        const result = rejected(
          checkDocument({ mrz: buildMrz(old), visual: { ...visualFor(old), surname: 'DE WIT' } }, clock),
        );
        assert.deepEqual(result.reasons, ['document_expired', 'mrz_visual_mismatch']);
        assert.deepEqual(result.fields, ['dateOfExpiry', 'surname']);
      });

      const wrongValues: Record<Exclude<keyof VisualData, 'dateOfIssue'>, string> = {
        surname: 'DE VRIEZ',
        givenNames: 'JAN PIET',
        documentNumber: 'SPECI2015',
        dateOfBirth: '1985-03-15',
        dateOfExpiry: dateFrom(clock, { years: 5 }),
        sex: 'F',
        nationality: 'BEL',
        issuingCountry: 'BEL',
      };
      for (const [field, value] of Object.entries(wrongValues)) {
        it(`reports a visual ${field} that differs from the MRZ, naming the field and not the value`, () => {
          const result = rejected(checkDocument({ mrz: lines, visual: { ...visualFor(spec), [field]: value } }, clock));
          assert.deepEqual(result.reasons, ['mrz_visual_mismatch']);
          assert.deepEqual(result.fields, [field]);
          const logged = JSON.stringify(result);
          for (const secret of ['VRIE', 'SPECI', '1985', 'JAN', 'NLD', 'BEL']) assert.ok(!logged.includes(secret));
        });
      }
    });
  }
});

describe('MRZ: unreadable input', () => {
  const valid = buildMrz(personFor('TD3'));

  const garbage: [string, unknown][] = [
    ['an empty string', ''],
    ['no lines', []],
    ['prose', 'this is not a machine readable zone'],
    ['lower case', valid.map((line) => line.toLowerCase())],
    ['one line of a passport', [valid[0]]],
    ['three lines of 44', [...valid, valid[0]]],
    ['a line one character short', [valid[0], valid[1]!.slice(1)]],
    ['characters outside A–Z, 0–9 and <', [valid[0], valid[1]!.replace('<', ' ')]],
    ['something that is not text', { lines: valid }],
    ['a huge string', 'P'.repeat(100_000)],
    ['random letters of the right shape', ['Q'.repeat(44), 'Z'.repeat(44)]],
  ];
  for (const [what, mrz] of garbage) {
    it(`refuses ${what} as document_unreadable`, () => {
      const result = rejected(checkDocument({ mrz: mrz as string[] }, clock));
      assert.deepEqual(result.reasons, ['document_unreadable']);
    });
  }

  it('refuses visas (MRV-A and MRV-B): they are not identity documents', () => {
    for (const [length, lines] of [
      [44, buildMrz({ ...personFor('TD3'), documentCode: 'V' })],
      [36, buildMrz({ ...personFor('TD2'), documentCode: 'V' })],
    ] as const) {
      assert.equal(lines[0]!.length, length);
      const result = rejected(checkDocument({ mrz: lines }, clock));
      assert.deepEqual(result.reasons, ['document_unreadable']);
      assert.deepEqual(result.fields, ['documentType']);
    }
  });

  it('refuses a birth date that is not in the calendar even when its check digit adds up', () => {
    const lines = buildMrz({ ...personFor('TD3'), dateOfBirth: '1985-02-30' });
    const result = rejected(checkDocument({ mrz: lines }, clock));
    assert.deepEqual(result.reasons, ['document_unreadable']);
    assert.deepEqual(result.fields, ['dateOfBirth']);
  });

  it('refuses an unknown birth day (<<) rather than inventing one', () => {
    const lines = buildMrz(personFor('TD3'));
    // 8503<< with its own correct check digit (fillers count as 0): only the missing day is wrong.
    const unknownDay = recomputeComposite(
      replaceChar(replaceChar(replaceChar(lines, 1, 17, '<'), 1, 18, '<'), 1, 19, checkDigit('8503<<')),
      'TD3',
    );
    const result = rejected(checkDocument({ mrz: unknownDay }, clock));
    assert.deepEqual(result.reasons, ['document_unreadable']);
    assert.deepEqual(result.fields, ['dateOfBirth']);
  });

  it('refuses a state code that ICAO does not know', () => {
    const result = rejected(checkDocument({ mrz: buildMrz({ ...personFor('TD1'), issuingState: 'ZZZ' }) }, clock));
    assert.deepEqual(result.reasons, ['document_unreadable']);
    assert.deepEqual(result.fields.sort(), ['issuingCountry']);
  });

  it('refuses a TD1 document number that claims to continue in the optional data but does not', () => {
    const lines = buildMrz(personFor('TD1'));
    // `<` in the check digit's place announces a longer number; the optional data is empty.
    const result = rejected(checkDocument({ mrz: recomputeComposite(replaceChar(lines, 0, 14, '<'), 'TD1') }, clock));
    assert.deepEqual(result.reasons, ['mrz_check_digit']);
    assert.deepEqual(result.fields, ['documentNumber']);
  });

  it('reads long document numbers in TD1 and TD2 from the optional data, check digit included', () => {
    for (const format of ['TD1', 'TD2'] as const) {
      const spec = { ...personFor(format), documentNumber: format === 'TD1' ? 'AB12345678901' : 'AB1234567890' };
      const { document } = accepted(checkDocument({ mrz: buildMrz(spec), visual: visualFor(spec) }, clock));
      assert.equal(document.documentNumber, spec.documentNumber);
    }
  });
});

describe('MRZ: dates with two-digit years', () => {
  it('puts birth dates in the past, including children born this century', () => {
    for (const dateOfBirth of ['1931-01-01', '1999-12-31', '2003-07-04', dateFrom(clock, {})]) {
      const spec = { ...personFor('TD3'), dateOfBirth };
      const { document } = accepted(checkDocument({ mrz: buildMrz(spec), visual: visualFor(spec) }, clock));
      assert.equal(document.dateOfBirth, dateOfBirth);
    }
  });

  it('puts a birth date written as tomorrow a century back (nobody is born in the future)', () => {
    const spec = { ...personFor('TD3'), dateOfBirth: dateFrom(clock, { days: 1 }) };
    const { document } = accepted(checkDocument({ mrz: buildMrz(spec) }, clock));
    assert.equal(document.dateOfBirth, dateFrom(clock, { years: -100, days: 1 }));
  });

  it('reads expiry dates up to twenty years ahead as future, later ones as long expired', () => {
    const soon = { ...personFor('TD1'), dateOfExpiry: dateFrom(clock, { years: 19, days: 300 }) };
    accepted(checkDocument({ mrz: buildMrz(soon), visual: visualFor(soon) }, clock));
    const far = { ...personFor('TD1'), dateOfBirth: '1940-05-01', dateOfExpiry: dateFrom(clock, { years: 25 }) };
    const result = rejected(checkDocument({ mrz: buildMrz(far), visual: visualFor(far) }, clock));
    // `51` read in 2026 is 1951: expired, and no longer the year the visual zone shows.
    assert.deepEqual(result.reasons, ['document_expired', 'mrz_visual_mismatch']);
    assert.deepEqual(result.fields, ['dateOfExpiry']);
  });

  it('refuses a document that would expire before its holder was born', () => {
    const spec = { ...personFor('TD1'), dateOfExpiry: dateFrom(clock, { years: 25 }) }; // born 1985, "expires" 1951
    const result = rejected(checkDocument({ mrz: buildMrz(spec) }, clock));
    assert.deepEqual(result.reasons, ['document_unreadable']);
    assert.deepEqual(result.fields, ['dateOfBirth', 'dateOfExpiry']);
  });

  it('reads a check digit position holding a letter as unreadable, not as a wrong digit', () => {
    const lines = buildMrz(personFor('TD3'));
    const result = rejected(checkDocument({ mrz: replaceChar(lines, 1, 19, 'B') }, clock));
    assert.deepEqual(result.reasons, ['document_unreadable']);
    assert.deepEqual(result.fields, ['dateOfBirth']);
  });

  it('keeps a plausible issue date from the visual zone and refuses an impossible one', () => {
    const spec = personFor('TD3');
    const issued = dateFrom(clock, { years: -5, days: 17 });
    const { document } = accepted(
      checkDocument({ mrz: buildMrz(spec), visual: { ...visualFor(spec), dateOfIssue: issued } }, clock),
    );
    assert.equal(document.dateOfIssue, issued);
    for (const dateOfIssue of [dateFrom(clock, { days: 1 }), '2019-02-29', '1984-01-01', 'yesterday']) {
      const result = rejected(
        checkDocument({ mrz: buildMrz(spec), visual: { ...visualFor(spec), dateOfIssue } }, clock),
      );
      assert.deepEqual(result.reasons, ['document_unreadable']);
      assert.deepEqual(result.fields, ['dateOfIssue']);
    }
  });
});

describe('MRZ: names against the visual zone', () => {
  const check = (mrzName: { surname: string; givenNames: string }, visual: Partial<VisualData>, format: MrzFormat = 'TD3') =>
    checkDocument({ mrz: buildMrz({ ...personFor(format), ...mrzName }), visual }, clock);

  it('accepts national characters written as ICAO transliterates them, or as their base letter', () => {
    const pairs: [string, string][] = [
      ['Müller', 'MUELLER'],
      ['Müller', 'MULLER'],
      ['Groß', 'GROSS'],
      ['Hämäläinen', 'HAEMAELAEINEN'],
      ['Hämäläinen', 'HAMALAINEN'],
      ['Øster-Ålund', 'OESTER AALUND'],
      ['Çelik', 'CELIK'],
      ['Łukasiewicz', 'LUKASIEWICZ'],
      ["D'Artagnan", 'DARTAGNAN'],
      ['de la Vega', 'DE LA VEGA'],
      ['Þórsdóttir', 'THORSDOTTIR'],
      ['Peña', 'PENA'],
      ['Ñúñez', 'NXXUNXXEZ'],
    ];
    for (const [visual, mrz] of pairs) {
      const result = check({ surname: mrz, givenNames: 'ANNA' }, { surname: visual, givenNames: 'Anna' });
      assert.equal(result.ok, true, `${visual} should match ${mrz}: ${JSON.stringify(result)}`);
    }
  });

  it('keeps the visual spelling in the document data once it matched', () => {
    const { document } = accepted(
      check({ surname: 'MUELLER', givenNames: 'ANNA LENA' }, { surname: ' Müller ', givenNames: 'Anna-Lena' }),
    );
    assert.equal(document.surname, 'Müller');
    assert.equal(document.givenNames, 'Anna-Lena');
    const mrzOnly = accepted(check({ surname: 'MUELLER', givenNames: 'ANNA LENA' }, {}));
    assert.equal(mrzOnly.document.surname, 'MUELLER');
    assert.equal(mrzOnly.document.givenNames, 'ANNA LENA');
  });

  it('refuses names that only look alike', () => {
    const pairs: [string, string][] = [
      ['Müller', 'MILLER'],
      ['Müller', 'MULLERS'],
      ['Muller', 'MUELLER'],
      ['Иванов', 'IVANOV'],
      ['', 'IVANOV'],
      ['Anna Maria', 'ANNAMARIA'],
    ];
    for (const [visual, mrz] of pairs) {
      const result = check({ surname: mrz, givenNames: 'ANNA' }, { surname: visual });
      assert.equal(result.ok, false, `${visual} should not match ${mrz}`);
      assert.deepEqual(rejected(result).fields, ['surname']);
    }
  });

  it('accepts a long name the MRZ cut short when the visual name starts with what the MRZ kept', () => {
    const name = { surname: 'HOHENZOLLERN SIGMARINGEN', givenNames: 'KARL FRIEDRICH ALEXANDER' };
    const lines = buildMrz({ ...personFor('TD1'), ...name });
    assert.equal(lines[2], 'HOHENZOLLERN<SIGMARINGEN<<KARL');
    const visual = { surname: 'Hohenzollern-Sigmaringen', givenNames: 'Karl Friedrich Alexander' };
    const { document } = accepted(check(name, visual, 'TD1'));
    assert.equal(document.givenNames, 'Karl Friedrich Alexander');
    const other = rejected(check(name, { ...visual, givenNames: 'Kurt Friedrich' }, 'TD1'));
    assert.deepEqual(other.fields, ['givenNames']);
    // A name that merely fits its field exactly is compared the same way.
    accepted(check({ surname: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', givenNames: 'ABC' }, { givenNames: 'Abc' }, 'TD1'));
  });

  it('accepts a surname so long that the MRZ holds nothing else', () => {
    const name = { surname: 'WOLFESCHLEGELSTEINHAUSENBERGERDORFF', givenNames: 'HUBERT BLAINE' };
    const lines = buildMrz({ ...personFor('TD1'), ...name });
    assert.equal(lines[2], 'WOLFESCHLEGELSTEINHAUSENBERGER');
    accepted(check(name, { surname: 'Wolfeschlegelsteinhausenbergerdorff', givenNames: 'Hubert Blaine' }, 'TD1'));
    const result = rejected(check(name, { surname: 'Wolfeschlegel' }, 'TD1'));
    assert.deepEqual(result.fields, ['surname']);
  });

  it('compares a complete name exactly: a visual name longer than an uncut MRZ name is a mismatch', () => {
    const result = rejected(check({ surname: 'ERIKSSON', givenNames: 'ANNA' }, { givenNames: 'Anna Maria' }));
    assert.deepEqual(result.fields, ['givenNames']);
  });
});

describe('MRZ: document codes, countries and sex', () => {
  it('maps document codes to document types', () => {
    const cases: [MrzFormat, string, string][] = [
      ['TD3', 'P', 'passport'],
      ['TD3', 'PD', 'passport'],
      ['TD1', 'I', 'idcard'],
      ['TD1', 'ID', 'idcard'],
      ['TD2', 'AC', 'other'],
      ['TD1', 'AR', 'residence_permit'],
      ['TD1', 'IR', 'residence_permit'],
      ['TD2', 'C', 'idcard'],
    ];
    for (const [format, documentCode, documentType] of cases) {
      const { document } = accepted(checkDocument({ mrz: buildMrz({ ...personFor(format), documentCode }) }, clock));
      assert.equal(document.documentType, documentType, `${documentCode} → ${documentType}`);
    }
  });

  it("writes Germany's MRZ code D as DEU and matches either in the visual zone", () => {
    const spec: MrzSpec = { ...personFor('TD1'), documentCode: 'ID', issuingState: 'D', nationality: 'D' };
    const lines = buildMrz(spec);
    assert.ok(lines[0]!.startsWith('IDD<<'));
    const { document } = accepted(
      checkDocument({ mrz: lines, visual: { ...visualFor(spec), issuingCountry: 'D', nationality: 'deu' } }, clock),
    );
    assert.equal(document.issuingCountry, 'DEU');
    assert.equal(document.nationality, 'DEU');
  });

  it('reads an unspecified sex (< or X in the MRZ) as X', () => {
    for (const sex of ['<', 'X'] as const) {
      const spec = { ...personFor('TD3'), sex };
      const { document } = accepted(checkDocument({ mrz: buildMrz(spec), visual: { sex: 'X' } }, clock));
      assert.equal(document.sex, 'X');
    }
    const result = rejected(checkDocument({ mrz: buildMrz(personFor('TD3')), visual: { sex: 'X' } }, clock));
    assert.deepEqual(result.fields, ['sex']);
  });

  it('lets the caller name the check method and transaction', () => {
    const { checks } = accepted(
      checkDocument({ mrz: buildMrz(personFor('TD3')) }, clock, { checkMethod: 'vpip', txn: 'sbx-42' }),
    );
    assert.deepEqual(checks, [{ check_method: 'vpip', organization: 'idflow', txn: 'sbx-42', time: NOW.toISOString() }]);
    const fresh = accepted(checkDocument({ mrz: buildMrz(personFor('TD3')) }, clock));
    assert.match(fresh.checks[0]!.txn!, /^[0-9a-f-]{36}$/);
  });
});
