-- Views for analysts, with the labels of the original screens. Valid SQL for both SQLite and
-- PostgreSQL; re-created by `dispenser init` (docs/analysts.md describes every column). No view
-- reads another, so each can be dropped and created on its own; all are dropped first because a
-- column cannot be renamed by CREATE OR REPLACE on PostgreSQL.
DROP VIEW IF EXISTS rekap_kehadiran;
-- statement
DROP VIEW IF EXISTS rekap_per_opd;
-- statement
DROP VIEW IF EXISTS kandidat_pelanggaran;
-- statement
DROP VIEW IF EXISTS kandidat_apresiasi;
-- statement
DROP VIEW IF EXISTS draft_pending;
-- statement
DROP VIEW IF EXISTS riwayat_notifikasi;
-- statement
CREATE VIEW rekap_kehadiran AS
SELECT
    r.period_kind           AS jenis_periode,
    r.period                AS periode,
    e.name                  AS pegawai,
    r.nip                   AS nip,
    r.opd_code              AS kode_opd,
    u.name                  AS opd,
    e.grade                 AS golongan,
    r.working_days          AS hari_kerja,
    r.present               AS hadir,
    r.absent                AS tidak_hadir,
    r.tk                    AS tanpa_keterangan,
    r.leave                 AS cuti,
    r.sick                  AS sakit,
    r.permit                AS izin,
    r.official_duty         AS dinas_luar,
    r.study                 AS tugas_belajar,
    r.no_data               AS belum_ada_data,
    r.pending               AS menunggu,
    r.data_problem          AS masalah_data,
    r.missing_check_in      AS tidak_absen_masuk,
    r.missing_check_out     AS tidak_absen_pulang,
    r.late_minutes          AS menit_terlambat,
    r.early_leave_minutes   AS menit_pulang_cepat,
    r.tk_equivalent         AS tk_setara,
    r.tk_ytd_equivalent     AS tk_kumulatif_tahun_ini,
    r.revision              AS revisi,
    r.rule_version          AS versi_aturan,
    r.calendar_version      AS versi_kalender
FROM recaps r
JOIN employees e ON e.nip = r.nip
JOIN work_units u ON u.opd_code = r.opd_code;
-- statement
CREATE VIEW rekap_per_opd AS
SELECT
    r.period_kind                   AS jenis_periode,
    r.period                        AS periode,
    r.opd_code                      AS kode_opd,
    u.name                          AS opd,
    COUNT(*)                        AS jumlah_pegawai,
    SUM(r.working_days)             AS hari_kerja,
    SUM(r.present)                  AS hadir,
    SUM(r.absent)                   AS tidak_hadir,
    SUM(r.tk)                       AS tanpa_keterangan,
    SUM(r.leave)                    AS cuti,
    SUM(r.sick)                     AS sakit,
    SUM(r.permit)                   AS izin,
    SUM(r.official_duty)            AS dinas_luar,
    SUM(r.study)                    AS tugas_belajar,
    SUM(r.no_data)                  AS belum_ada_data,
    SUM(r.pending)                  AS menunggu,
    SUM(r.data_problem)             AS masalah_data,
    SUM(r.missing_check_in)         AS tidak_absen_masuk,
    SUM(r.missing_check_out)        AS tidak_absen_pulang,
    SUM(r.late_minutes)             AS menit_terlambat,
    SUM(r.early_leave_minutes)      AS menit_pulang_cepat,
    SUM(r.tk_equivalent)            AS tk_setara,
    ROUND(100.0 * SUM(r.present) / NULLIF(SUM(r.working_days), 0), 1) AS persen_hadir
FROM recaps r
JOIN work_units u ON u.opd_code = r.opd_code
GROUP BY r.period_kind, r.period, r.opd_code, u.name;
-- statement
-- Candidates are stored per period by the last candidate search (a rerun replaces them); the
-- recap of the same period gives the counts behind the band.
CREATE VIEW kandidat_pelanggaran AS
SELECT
    r.period_kind           AS jenis_periode,
    c.period                AS periode,
    e.name                  AS pegawai,
    c.nip                   AS nip,
    c.opd_code              AS kode_opd,
    u.name                  AS opd,
    e.grade                 AS golongan,
    c.band_code             AS kode_hukuman,
    c.counted_days          AS hari_pelanggaran,
    r.tk                    AS tanpa_keterangan,
    r.tk_equivalent         AS tk_setara,
    r.tk_ytd                AS tanpa_keterangan_tahun_ini,
    r.tk_ytd_equivalent     AS tk_kumulatif_tahun_ini,
    r.longest_tk_run_ytd    AS tk_berturut_terpanjang,
    c.rule_version          AS versi_aturan,
    c.computed_at           AS dihitung_pada
FROM candidates c
JOIN employees e ON e.nip = c.nip
JOIN work_units u ON u.opd_code = c.opd_code
LEFT JOIN recaps r ON r.period = c.period AND r.nip = c.nip
WHERE c.kind = 'violation';
-- statement
CREATE VIEW kandidat_apresiasi AS
SELECT
    r.period_kind           AS jenis_periode,
    c.period                AS periode,
    c.rank                  AS peringkat_opd,
    e.name                  AS pegawai,
    c.nip                   AS nip,
    c.opd_code              AS kode_opd,
    u.name                  AS opd,
    e.grade                 AS golongan,
    r.working_days          AS hari_kerja,
    r.present               AS hadir,
    r.late_minutes          AS menit_terlambat,
    r.early_leave_minutes   AS menit_pulang_cepat,
    r.missing_check_in      AS tidak_absen_masuk,
    r.missing_check_out     AS tidak_absen_pulang,
    c.rule_version          AS versi_aturan,
    c.computed_at           AS dihitung_pada
FROM candidates c
JOIN employees e ON e.nip = c.nip
JOIN work_units u ON u.opd_code = c.opd_code
LEFT JOIN recaps r ON r.period = c.period AND r.nip = c.nip
WHERE c.kind = 'appreciation';
-- statement
CREATE VIEW draft_pending AS
SELECT
    d.draft_id,
    d.title             AS judul,
    d.kind              AS jenis,
    d.period            AS periode,
    d.status,
    COUNT(i.nip)        AS jumlah_pegawai,
    d.created_by        AS dibuat_oleh,
    d.updated_at        AS diperbarui
FROM drafts d
LEFT JOIN draft_items i ON i.draft_id = d.draft_id
WHERE d.status IN ('pending', 'awaiting_approval')
GROUP BY d.draft_id, d.title, d.kind, d.period, d.status, d.created_by, d.updated_at;
-- statement
-- Who was notified of what, never the text of a notice (its title and body stay in notices).
CREATE VIEW riwayat_notifikasi AS
SELECT
    n.notice_id             AS id_notifikasi,
    n.draft_id,
    d.kind                  AS jenis,
    d.period                AS periode,
    n.nip                   AS nip,
    n.recipient_nip         AS nip_penerima,
    n.recipient_role        AS peran_penerima,
    n.band_code             AS kode_hukuman,
    n.status,
    n.attempts              AS percobaan,
    n.created_at            AS dibuat,
    n.sent_at               AS dikirim,
    d.decided_by            AS disetujui_oleh,
    n.template_version      AS versi_template
FROM notices n
JOIN drafts d ON d.draft_id = n.draft_id;
