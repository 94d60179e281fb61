import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// sql/0018 rewrote the word function for speed. These tests hold it to the words of sql/0016
/// (spelled out below as it was): the same words, less the e-mail's local part, which the whole
/// e-mail covers by prefix.
@Suite("search words: the cheaper functions of sql/0018 find what sql/0016 found")
struct SearchWordsTests {
    /// Names, companies and keys with accents, ñ/ç, letters outside fold's table, punctuation,
    /// blanks and NULLs, display names equal to "first last" and not.
    static let inputs = """
        VALUES
          ('Ñandú Çelik', 'Ñandú', 'Çelik', NULL, 'ÑAndu@Exámple.ES', '+34 (91) 555-12-12', '12345678Z'),
          ('ACME, S.A.', NULL, NULL, 'ACME, S.A.', NULL, NULL, NULL),
          ('x@y.es', NULL, NULL, NULL, 'x@y.es', NULL, NULL),
          ('José  María', 'José ', ' María', 'Öl & Ÿ ÿ Ŀ straße ø İstanbul', 'a@b', '600', 'b12345674'),
          ('', NULL, NULL, NULL, NULL, NULL, NULL),
          (NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          ('Ana Pérez', 'Ana', 'Pérez', 'Pérez e Hijos', 'ana.perez+crm@pérez.com', '0034 600 000 001', NULL),
          ('Ana Pérez', 'Ana', 'Pérez García', NULL, NULL, NULL, NULL),
          ('Ana Pérez García', 'Ana', 'Pérez', NULL, NULL, NULL, NULL),
          ('Transportes Gómez S.L.', NULL, NULL, 'Transportes Gómez S.L.', 'info@tgomez.es', '+34600000001', 'B12345674'),
          ('LUCÍA', 'LUCÍA', NULL, NULL, 'LUCIA@X.ES', '612345678', NULL)
        """

    /// The word list of sql/0016.
    static let wordsOf0016 = """
        SELECT DISTINCT word
          FROM (SELECT lower(translate(i.email, 'ÁÀÂÄÃÅáàâäãåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÖÕóòôöõÚÙÛÜúùûüÑñÇçÝýÿ', 'AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuNnCcYyy')) AS e,
                       regexp_replace(i.phone, '[^0-9]', '', 'g') AS p) k,
               unnest(regexp_split_to_array(lower(translate(concat_ws(' ', i.display_name, i.first_name, i.last_name, i.company_name),
                          'ÁÀÂÄÃÅáàâäãåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÖÕóòôöõÚÙÛÜúùûüÑñÇçÝýÿ', 'AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuNnCcYyy')), '[^a-z0-9]+')
                      || ARRAY[k.e, split_part(k.e, '@', 1), split_part(k.e, '@', 2), k.p, right(k.p, 9), lower(i.tax_id)]) AS word
         WHERE word IS NOT NULL AND length(word) >= 2
        """

    @Test("the words are those of sql/0016 less the e-mail's local part, a prefix of the whole e-mail")
    func wordsMatchTheEarlierFunction() async throws {
        try await TestDatabase.withMigrated { db in
            let owner = try db.connectAsOwner()
            let rows = try owner.query(PGQuery(unsafeSQL: """
                SELECT coalesce(i.display_name, '(null)'),
                       ARRAY(\(Self.wordsOf0016)),
                       ARRAY(SELECT comarca.record_search_words(i.display_name, i.first_name, i.last_name, i.company_name,
                                                               i.email, i.phone, i.tax_id)),
                       split_part(lower(translate(i.email, 'ÁÀÂÄÃÅáàâäãåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÖÕóòôöõÚÙÛÜúùûüÑñÇçÝýÿ', 'AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuNnCcYyy')), '@', 1)
                  FROM (\(Self.inputs)) i(display_name, first_name, last_name, company_name, email, phone, tax_id)
                """)).decode((String, [String], [String], String?).self)
            #expect(rows.count == 11)
            for (name, before, now, localPart) in rows {
                let gone = Set(before).subtracting(now)
                #expect(Set(now).isSubset(of: Set(before)), "\(name): words that were not words before: \(Set(now).subtracting(before))")
                #expect(gone.isSubset(of: Set([localPart].compactMap { $0 })), "\(name): words lost: \(gone)")
                if let localPart, gone.contains(localPart) {
                    #expect(now.contains { $0.hasPrefix(localPart + "@") }, "\(name): the whole e-mail must stay a word")
                }
            }
        }
    }

    @Test("a record is found by the start of its e-mail's local part without a token for it")
    func localPartIsFoundThroughTheWholeEmail() async throws {
        try await TestDatabase.withMigrated { db in
            let owner = try db.connectAsOwner()
            let words = try owner.query("""
                SELECT comarca.record_search_words('Ana Pérez', 'Ana', 'Pérez', NULL, 'Ana.Perez@Empresa.ES', NULL, NULL)
                """).decode(String.self)
            #expect(!words.contains("ana.perez"))
            #expect(words.contains("ana.perez@empresa.es"))
            #expect(words.contains("empresa.es"))
            // A search for "ana.per" is a prefix range over tokens: the whole e-mail is in it.
            #expect(words.contains { $0.hasPrefix("ana.per") })
        }
    }

    @Test("fold gives translate's answer, ASCII or not, and NULL for NULL")
    func foldMatchesTranslate() async throws {
        try await TestDatabase.withMigrated { db in
            let owner = try db.connectAsOwner()
            let mismatches = try owner.query("""
                SELECT coalesce(v, '(null)')
                  FROM unnest(ARRAY['ÑAndu@Exámple.ES', 'Öl & Ÿ ÿ Ŀ straße ø', NULL, '', 'ABC def', 'İstanbul', 'MUÑOZ', 'ça va', '€ 1.234,50']) v
                 WHERE comarca.fold(v) IS DISTINCT FROM lower(translate(v,
                           'ÁÀÂÄÃÅáàâäãåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÖÕóòôöõÚÙÛÜúùûüÑñÇçÝýÿ', 'AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuNnCcYyy'))
                """).decode(String.self)
            #expect(mismatches.isEmpty, "fold differs for \(mismatches)")
        }
    }
}
