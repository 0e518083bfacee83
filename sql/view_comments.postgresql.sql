-- What each analyst view and column holds, for \d+ in psql and the column tooltips of SQL
-- clients. Applied after views.sql (a dropped view loses its comments).
COMMENT ON VIEW rekap_kehadiran IS
    'Rekapitulasi kehadiran per pegawai, per bulan (jenis_periode month) atau per tahun (year).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.jenis_periode IS 'month = rekap bulanan, year = rekap tahunan.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.periode IS 'Periode rekap: 2025-11 (bulan) atau 2025 (tahun).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.pegawai IS 'Nama pegawai menurut data pegawai terakhir.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.nip IS 'NIP pegawai (18 digit).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.kode_opd IS 'Kode OPD tempat pegawai dihitung pada periode ini.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.opd IS 'Nama OPD (unit kerja).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.golongan IS 'Golongan/ruang pegawai, misalnya III/a.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.hari_kerja IS
    'Hari kerja pegawai dalam periode menurut jadwalnya, tanpa hari libur dan cuti bersama, '
    'sejak tanggal mulai bertugas.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.hadir IS 'Hari dengan absensi di jendela masuk atau pulang.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.tidak_hadir IS
    'Hari kerja yang dinilai tidak hadir: tanpa keterangan ditambah cuti, sakit, izin, dinas '
    'luar dan tugas belajar.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.tanpa_keterangan IS
    'Hari tanpa keterangan (TK): tidak ada absensi dan tidak ada keterangan tercatat.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.cuti IS 'Hari cuti tercatat (jenis C).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.sakit IS 'Hari sakit tercatat (jenis S).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.izin IS 'Hari izin tercatat (jenis I).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.dinas_luar IS 'Hari dinas luar tercatat (jenis DL).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.tugas_belajar IS 'Hari tugas belajar tercatat (jenis TB).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.belum_ada_data IS
    'Hari sebelum sumber absensi OPD mulai mengirim data; tidak pernah dihitung TK.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.menunggu IS
    'Hari yang belum dinilai karena sumber absensi belum mengirim data sampai akhir hari itu.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.masalah_data IS
    'Hari yang tidak dinilai karena mesin absensi OPD mengirim jauh lebih sedikit data dari '
    'biasanya; tidak pernah dihitung TK.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.tidak_absen_masuk IS 'Hari hadir tanpa absensi masuk.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.tidak_absen_pulang IS 'Hari hadir tanpa absensi pulang.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.menit_terlambat IS
    'Jumlah menit terlambat (menit penuh, dibulatkan ke bawah, per hari).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.menit_pulang_cepat IS
    'Jumlah menit pulang sebelum jam pulang (menit penuh, dibulatkan ke bawah, per hari).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.tk_setara IS
    'TK periode ini ditambah satu hari untuk setiap 450 menit terlambat dan pulang cepat '
    '(PP 94/2021).';
-- statement
COMMENT ON COLUMN rekap_kehadiran.tk_kumulatif_tahun_ini IS
    'TK setara sejak 1 Januari sampai akhir periode: dasar tingkat hukuman disiplin.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.revisi IS
    '1 untuk rekap pertama; naik satu setiap kali data susulan atau koreksi mengubahnya.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.versi_aturan IS 'Versi aturan PP 94/2021 yang dipakai.';
-- statement
COMMENT ON COLUMN rekap_kehadiran.versi_kalender IS
    'Sidik jari kalender libur tahun itu; berbeda bila kalender berubah di antara dua rekap.';
-- statement
COMMENT ON VIEW rekap_per_opd IS
    'Rekapitulasi kehadiran per OPD dan periode: jumlah dari rekap_kehadiran.';
-- statement
COMMENT ON COLUMN rekap_per_opd.jenis_periode IS 'month = rekap bulanan, year = rekap tahunan.';
-- statement
COMMENT ON COLUMN rekap_per_opd.periode IS 'Periode rekap: 2025-11 (bulan) atau 2025 (tahun).';
-- statement
COMMENT ON COLUMN rekap_per_opd.kode_opd IS 'Kode OPD.';
-- statement
COMMENT ON COLUMN rekap_per_opd.opd IS 'Nama OPD (unit kerja).';
-- statement
COMMENT ON COLUMN rekap_per_opd.jumlah_pegawai IS 'Pegawai OPD yang punya rekap pada periode.';
-- statement
COMMENT ON COLUMN rekap_per_opd.hari_kerja IS 'Jumlah hari kerja semua pegawai OPD.';
-- statement
COMMENT ON COLUMN rekap_per_opd.hadir IS 'Jumlah hari hadir.';
-- statement
COMMENT ON COLUMN rekap_per_opd.tidak_hadir IS 'Jumlah hari tidak hadir (TK dan berketerangan).';
-- statement
COMMENT ON COLUMN rekap_per_opd.tanpa_keterangan IS 'Jumlah hari tanpa keterangan (TK).';
-- statement
COMMENT ON COLUMN rekap_per_opd.cuti IS 'Jumlah hari cuti.';
-- statement
COMMENT ON COLUMN rekap_per_opd.sakit IS 'Jumlah hari sakit.';
-- statement
COMMENT ON COLUMN rekap_per_opd.izin IS 'Jumlah hari izin.';
-- statement
COMMENT ON COLUMN rekap_per_opd.dinas_luar IS 'Jumlah hari dinas luar.';
-- statement
COMMENT ON COLUMN rekap_per_opd.tugas_belajar IS 'Jumlah hari tugas belajar.';
-- statement
COMMENT ON COLUMN rekap_per_opd.belum_ada_data IS 'Jumlah hari sebelum data absensi tersedia.';
-- statement
COMMENT ON COLUMN rekap_per_opd.menunggu IS 'Jumlah hari yang menunggu data absensi.';
-- statement
COMMENT ON COLUMN rekap_per_opd.masalah_data IS 'Jumlah hari yang tidak dinilai (masalah data).';
-- statement
COMMENT ON COLUMN rekap_per_opd.tidak_absen_masuk IS 'Jumlah hari hadir tanpa absensi masuk.';
-- statement
COMMENT ON COLUMN rekap_per_opd.tidak_absen_pulang IS 'Jumlah hari hadir tanpa absensi pulang.';
-- statement
COMMENT ON COLUMN rekap_per_opd.menit_terlambat IS 'Jumlah menit terlambat.';
-- statement
COMMENT ON COLUMN rekap_per_opd.menit_pulang_cepat IS 'Jumlah menit pulang cepat.';
-- statement
COMMENT ON COLUMN rekap_per_opd.tk_setara IS 'Jumlah TK setara periode ini dari semua pegawai.';
-- statement
COMMENT ON COLUMN rekap_per_opd.persen_hadir IS
    'Hari hadir dibagi hari kerja, dalam persen dengan satu desimal.';
-- statement
COMMENT ON VIEW kandidat_pelanggaran IS
    'Kandidat pelanggaran disiplin PP 94/2021 dari pencarian kandidat terakhir tiap periode.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.jenis_periode IS 'month atau year.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.periode IS 'Periode analisis: 2025-11 atau 2025.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.pegawai IS 'Nama pegawai.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.nip IS 'NIP pegawai.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.kode_opd IS 'Kode OPD pegawai pada periode.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.opd IS 'Nama OPD.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.golongan IS 'Golongan/ruang pegawai.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.kode_hukuman IS
    'Tingkat hukuman yang dicapai: R1-R3 ringan, S1-S3 sedang, B1-B3 berat, B4 untuk 10 hari '
    'kerja TK berturut-turut (docs/rules.md).';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.hari_pelanggaran IS
    'Hari pelanggaran yang menentukan tingkat: TK kumulatif tahun ini, atau TK berturut-turut '
    'untuk B4.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.tanpa_keterangan IS 'Hari TK dalam periode ini.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.tk_setara IS 'TK setara periode ini.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.tanpa_keterangan_tahun_ini IS
    'Hari TK sejak 1 Januari sampai akhir periode.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.tk_kumulatif_tahun_ini IS
    'TK setara sejak 1 Januari sampai akhir periode.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.tk_berturut_terpanjang IS
    'Hari kerja TK berturut-turut terpanjang tahun ini (akhir pekan dan libur tidak memutus).';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.versi_aturan IS 'Versi aturan PP 94/2021 yang dipakai.';
-- statement
COMMENT ON COLUMN kandidat_pelanggaran.dihitung_pada IS 'Waktu kandidat dihitung (UTC).';
-- statement
COMMENT ON VIEW kandidat_apresiasi IS
    'Kandidat apresiasi: hadir setiap hari kerja (cuti, sakit, izin, dinas luar boleh), tanpa '
    'TK, peringkat terbaik per OPD.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.jenis_periode IS 'month atau year.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.periode IS 'Periode analisis: 2025-11 atau 2025.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.peringkat_opd IS
    'Peringkat di OPD: menit terlambat dan pulang cepat tersedikit, lalu absensi terlewat '
    'tersedikit, lalu NIP.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.pegawai IS 'Nama pegawai.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.nip IS 'NIP pegawai.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.kode_opd IS 'Kode OPD pegawai pada periode.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.opd IS 'Nama OPD.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.golongan IS 'Golongan/ruang pegawai.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.hari_kerja IS 'Hari kerja pegawai dalam periode.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.hadir IS 'Hari hadir dalam periode.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.menit_terlambat IS 'Menit terlambat dalam periode.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.menit_pulang_cepat IS 'Menit pulang cepat dalam periode.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.tidak_absen_masuk IS 'Hari hadir tanpa absensi masuk.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.tidak_absen_pulang IS 'Hari hadir tanpa absensi pulang.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.versi_aturan IS 'Versi aturan yang dipakai.';
-- statement
COMMENT ON COLUMN kandidat_apresiasi.dihitung_pada IS 'Waktu kandidat dihitung (UTC).';
-- statement
COMMENT ON VIEW draft_pending IS
    'Draft notifikasi yang belum diputuskan: pending atau menunggu persetujuan.';
-- statement
COMMENT ON COLUMN draft_pending.draft_id IS 'Nomor draft.';
-- statement
COMMENT ON COLUMN draft_pending.judul IS
    'Judul draft, misalnya Draft Notifikasi Disiplin - November 2025.';
-- statement
COMMENT ON COLUMN draft_pending.jenis IS 'violation = pelanggaran, appreciation = apresiasi.';
-- statement
COMMENT ON COLUMN draft_pending.periode IS 'Periode draft: 2025-11 atau 2025.';
-- statement
COMMENT ON COLUMN draft_pending.status IS
    'pending = belum diajukan, awaiting_approval = menunggu keputusan penyetuju.';
-- statement
COMMENT ON COLUMN draft_pending.jumlah_pegawai IS 'Pegawai dalam draft.';
-- statement
COMMENT ON COLUMN draft_pending.dibuat_oleh IS 'Pengguna atau proses yang membuat draft.';
-- statement
COMMENT ON COLUMN draft_pending.diperbarui IS 'Waktu draft terakhir diubah (UTC).';
-- statement
COMMENT ON VIEW riwayat_notifikasi IS
    'Riwayat notifikasi per penerima, tanpa isi notifikasi.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.id_notifikasi IS 'Nomor notifikasi.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.draft_id IS 'Draft yang disetujui asal notifikasi.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.jenis IS
    'violation = peringatan disiplin, appreciation = apresiasi.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.periode IS 'Periode draft: 2025-11 atau 2025.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.nip IS 'NIP pegawai yang menjadi pokok notifikasi.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.nip_penerima IS 'NIP penerima: pegawai itu atau atasannya.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.peran_penerima IS
    'employee = pegawai, supervisor = atasan langsung.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.kode_hukuman IS 'Tingkat hukuman (kosong untuk apresiasi).';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.status IS
    'queued = menunggu dikirim, sent = diterima gateway, failed = gagal setelah semua percobaan.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.percobaan IS 'Berapa kali pengiriman dicoba.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.dibuat IS 'Waktu notifikasi masuk antrean (UTC).';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.dikirim IS 'Waktu gateway menerima notifikasi (UTC).';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.disetujui_oleh IS 'Penyetuju draft.';
-- statement
COMMENT ON COLUMN riwayat_notifikasi.versi_template IS 'Versi template isi notifikasi.';
